"""Sharded index versions: train once, fill S shards (in parallel processes, or on several GPUs),
serve them as one index.

``indexctl index build --shards S`` (:func:`python_ext.index.build.build_index` with
``shards=S``) trains the factory once on the usual sample, splits the corpus rows into S
contiguous ranges and fills one copy of the trained index per range. Two layouts:

* ``shards`` — ``index.faiss`` is the trained, empty index (the template: for IVF families
  its coarse quantizer is the one every shard shares); ``shard-00000.faiss`` … each hold an
  ``IndexIDMap`` over the template filled with their rows (the shard's own id map). Loading
  serves them as one index through FAISS's ``IndexShards`` (``IndexShardsIVF`` for IVF: the
  coarse quantizer runs once per query and each shard scans only its own lists).
* ``ondisk`` (IVF only) — the shards' inverted lists are merged with
  ``faiss.contrib.ondisk.merge_ondisk`` into ``index.ivfdata``, which ``index.faiss``
  (one IVF index with ``OnDiskInvertedLists``) memory-maps on load; the shard files are
  intermediate and removed.

Either way the loaded index is an ``IndexIDMap`` whose inner index returns **rows**: row r of
shard s is corpus row ``first_row(s) + r``, so the rows are exactly the chunk-file order the
single index uses, ``faiss_idmap.parquet`` keeps its meaning, and search, tune, eval and the
catalog see a sharded version as they see a single one. A sharded version never builds
``IndexIDMap2``'s reverse map (chunk id → row, about 52 bytes per vector); the id map is the
plain row → id array (8 bytes per vector).

Shard s covers rows ``[first_row, first_row + ntotal)`` of the corpus in chunk-file order.
When the chunk set has exactly S non-empty files (partitioned facts, :mod:`python_ext.chunkstore`)
shard s is file s; otherwise the rows are split evenly. Exact families (Flat, IVF-Flat,
IVF-PQ … with a shared training) give the same neighbours as the single index built from the
same chunks; graph indexes (HNSW) build one graph per shard and differ (tested in
``tests/python/test_index_shards.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from python_ext.atomic import atomic_path
from python_ext.errors import ConfigError, IndexBuildError, IndexMismatchError
from python_ext.index.gpu import Device, gpu_count, to_cpu, to_gpu
from python_ext.index.idmap import file_sha256
from python_ext.index.source import iter_row_range
from python_ext.progress import NULL_PROGRESS, Reporter
from python_ext.quiet import silenced

LAYOUTS = ("shards", "ondisk")
SHARD_FILE = "shard-{:05d}.faiss"
IVFDATA_FILE = "index.ivfdata"
MAX_SHARDS = 1024


@dataclass(frozen=True)
class ShardPlan:
    """Which corpus rows each shard holds.

    :param bounds: S + 1 row numbers; shard s holds rows ``bounds[s] … bounds[s+1]-1``.
    :param split: ``chunk files`` (one shard per chunks file) or ``rows`` (even split).
    """

    bounds: tuple[int, ...]
    split: str

    @property
    def count(self) -> int:
        return len(self.bounds) - 1

    def rows(self, shard: int) -> tuple[int, int]:
        return self.bounds[shard], self.bounds[shard + 1]


def check_shard_options(shards: int, layout: str, n: int, index: faiss.Index | None = None) -> None:
    """Refuse shard counts and layouts that cannot work, before anything is trained.

    :param index: the (untrained) index of the chosen factory, to check that ``ondisk`` has
        inverted lists to merge.
    :raises ConfigError: ``shards`` outside 1…1024 or above the number of vectors, an unknown
        layout, or ``ondisk`` for a factory without inverted lists.
    """
    if not 1 <= shards <= MAX_SHARDS:
        raise ConfigError(
            f"--shards must be between 1 and {MAX_SHARDS} (got {shards})", hint="use --shards 4"
        )
    if shards > n:
        raise ConfigError(
            f"--shards {shards} is more than the {n:,} vectors of the corpus",
            hint=f"use at most --shards {max(1, n)}",
        )
    if layout not in LAYOUTS:
        raise ConfigError(
            f"--layout must be one of {', '.join(LAYOUTS)} (got {layout!r})", hint="use --layout shards"
        )
    if layout == "ondisk" and index is not None:
        try:
            faiss.extract_index_ivf(index)
        except RuntimeError as exc:
            raise ConfigError(
                "--layout ondisk needs an IVF factory (inverted lists to merge on disk), "
                f"got {type(faiss.downcast_index(index)).__name__}",
                hint="use --factory IVF…, or --layout shards",
            ) from exc
        if isinstance(faiss.downcast_index(index), faiss.IndexIVFPQR):
            raise ConfigError("--layout ondisk does not support IVFPQR", hint="use --layout shards")


def plan_shards(file_rows: list[int], shards: int) -> ShardPlan:
    """Contiguous row ranges for ``shards`` shards over files with ``file_rows`` rows each.

    One shard per file when there are exactly ``shards`` non-empty files, else an even split.
    """
    n = sum(file_rows)
    if len(file_rows) == shards and all(file_rows):
        return ShardPlan(tuple(int(b) for b in np.concatenate([[0], np.cumsum(file_rows)])), "chunk files")
    return ShardPlan(tuple(s * n // shards for s in range(shards + 1)), "rows")


def is_sharded(index: faiss.Index) -> bool:
    """True for the ``IndexIDMap`` over ``IndexShards`` that a ``shards`` version loads as."""
    index = faiss.downcast_index(index)
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
    return isinstance(inner, faiss.IndexShards)


def shard_indexes(index: faiss.Index) -> list[faiss.Index]:
    """The shards of a sharded index (the inner index alone for any other)."""
    index = faiss.downcast_index(index)
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
    if isinstance(inner, faiss.IndexShards):
        return [faiss.downcast_index(inner.at(i)) for i in range(inner.count())]
    return [inner]


def parameter_index(index: faiss.Index) -> faiss.Index:
    """The index ParameterSpace should inspect: a shard for a sharded index (every shard has
    the same parameters; ``IndexShards`` itself lists none), else the inner index."""
    return shard_indexes(index)[0]


# --- filling the shards ----------------------------------------------------------------------


@dataclass(frozen=True)
class ShardTask:
    """Everything a worker needs to fill one shard (picklable)."""

    shard: int
    template: str
    files: tuple[tuple[str, int], ...]
    first_row: int
    end_row: int
    out: str
    d: int
    batch_rows: int
    native_rows: bool
    gpu: int | None
    threads: int


@dataclass(frozen=True)
class ShardDone:
    """What a worker returns: the ids it added (in row order), the file's sha256, the device."""

    shard: int
    ids: np.ndarray
    sha256: str
    used_gpu: bool


def fill_shard(task: ShardTask, advance: Callable[[int], None] | None = None) -> ShardDone:
    """Fill one shard from its row range and write it (atomically) to ``task.out``.

    ``native_rows`` (the on-disk layout) stores the corpus row numbers as the IVF's own ids;
    otherwise the shard is an ``IndexIDMap`` over the template with the chunk ids.
    """
    if task.threads:
        faiss.omp_set_num_threads(task.threads)
    inner = faiss.read_index(task.template)
    dev = to_gpu(inner, task.gpu) if task.gpu is not None else None
    on_gpu = dev is not None
    # CPU: an IndexIDMap filled as we go (rows: the IVF's own ids for the on-disk layout);
    # GPU: the device copy is filled without ids, copied back and wrapped below.
    wrapped = faiss.IndexIDMap(inner) if dev is None and not task.native_rows else None
    parts: list[np.ndarray] = []
    row = task.first_row
    batches = iter_row_range(
        [Path(p) for p, _ in task.files],
        [r for _, r in task.files],
        task.first_row,
        task.end_row,
        task.batch_rows,
        task.d,
    )
    for batch in batches:
        n = len(batch.ids)
        if task.native_rows:
            (dev or inner).add_with_ids(batch.vectors, np.arange(row, row + n, dtype="int64"))
        elif wrapped is not None:
            wrapped.add_with_ids(batch.vectors, batch.ids)
        else:
            dev.add(batch.vectors)
        parts.append(batch.ids)
        row += n
        if advance is not None:
            advance(n)
    ids = np.concatenate(parts) if parts else np.empty(0, dtype="int64")
    if dev is not None:
        filled = to_cpu(dev)
        del dev
        if task.native_rows:
            inner = filled
        else:
            wrapped = faiss.IndexIDMap(inner)
            filled.this.disown()
            wrapped.index = filled
            wrapped.own_fields = True
            wrapped.ntotal = filled.ntotal
            faiss.copy_array_to_vector(np.ascontiguousarray(ids, dtype="int64"), wrapped.id_map)
    out_index = inner if task.native_rows else wrapped
    with atomic_path(task.out) as tmp:
        faiss.write_index(out_index, str(tmp))
    return ShardDone(task.shard, ids, file_sha256(task.out), on_gpu)


def _worker_init() -> None:
    # a worker's output goes nowhere useful; keep FAISS's own prints off the user's terminal
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def fill_shards(tasks: list[ShardTask], workers: int, progress: Reporter = NULL_PROGRESS) -> list[ShardDone]:
    """Fill every shard: in this process when ``workers`` is 1, else in a pool of ``workers``
    processes (spawned: FAISS's OpenMP runtime does not survive ``fork``)."""
    total = sum(t.end_row - t.first_row for t in tasks)
    done: list[ShardDone] = []
    with progress.task(f"adding vectors to {len(tasks)} shards", total=total) as advance:
        if workers <= 1:
            for task in tasks:
                done.append(fill_shard(task, advance))
        else:
            import multiprocessing

            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
                futures = [pool.submit(fill_shard, t) for t in tasks]
                for future in futures:
                    result = future.result()
                    done.append(result)
                    task = tasks[result.shard]
                    advance(task.end_row - task.first_row)
    return sorted(done, key=lambda r: r.shard)


def build_shards(
    staging: Path,
    template: faiss.Index,
    files: list[Path],
    file_rows: list[int],
    scan_ids: np.ndarray,
    *,
    shards: int,
    layout: str,
    workers: int | None,
    device: Device,
    batch_rows: int,
    progress: Reporter = NULL_PROGRESS,
) -> tuple[dict[str, Any], bool]:
    """Write the trained ``template`` and S filled shards into ``staging`` (merged on disk for
    the ``ondisk`` layout).

    :returns: the ``sharding`` block of version.json and whether a GPU filled any shard.
    :raises ConfigError: see :func:`check_shard_options`.
    :raises IndexBuildError: a worker failed, or the chunks changed meanwhile.
    """
    plan = plan_shards(file_rows, shards)
    check_shard_options(shards, layout, len(scan_ids), template)
    from python_ext.index import versions as _v

    template_path = staging / _v.INDEX_FILE
    with atomic_path(template_path) as tmp:
        faiss.write_index(template, str(tmp))
    n_workers = max(1, min(workers or (os.cpu_count() or 1), plan.count))
    threads = max(1, (os.cpu_count() or 1) // n_workers) if n_workers > 1 else 0
    n_gpus = gpu_count() if device.use_gpu else 0
    starts = np.concatenate([[0], np.cumsum(file_rows)])
    tasks = []
    for s in range(plan.count):
        lo, hi = plan.rows(s)
        out = staging / (f".ondisk-{SHARD_FILE.format(s)}" if layout == "ondisk" else SHARD_FILE.format(s))
        tasks.append(
            ShardTask(
                shard=s,
                template=str(template_path),
                files=tuple((str(p), int(starts[i])) for i, p in enumerate(files)),
                first_row=lo,
                end_row=hi,
                out=str(out),
                d=int(template.d),
                batch_rows=batch_rows,
                native_rows=layout == "ondisk",
                gpu=(s % n_gpus) if n_gpus else None,
                threads=threads,
            )
        )
    try:
        done = fill_shards(tasks, n_workers, progress)
    except (RuntimeError, OSError) as exc:
        raise IndexBuildError(f"filling the shards failed: {exc}", hint="try --workers 1") from exc
    for result, task in zip(done, tasks, strict=True):
        want = scan_ids[task.first_row : task.end_row]
        if not np.array_equal(result.ids, want):
            raise IndexBuildError(
                f"shard {task.shard}: the chunks changed while the index was being built",
                hint="run `indexctl index build` again once ingest has finished",
            )
    parts = [
        {
            "shard": t.shard,
            "file": None if layout == "ondisk" else Path(t.out).name,
            "first_row": t.first_row,
            "ntotal": t.end_row - t.first_row,
            "sha256": None if layout == "ondisk" else r.sha256,
        }
        for t, r in zip(tasks, done, strict=True)
    ]
    block: dict[str, Any] = {
        "layout": layout,
        "count": plan.count,
        "split": plan.split,
        "workers": n_workers,
        "parts": parts,
        "template_sha256": file_sha256(template_path),
    }
    if layout == "ondisk":
        block.update(_merge_ondisk(staging, template_path, [Path(t.out) for t in tasks], scan_ids, progress))
    return block, any(r.used_gpu for r in done)


def _merge_ondisk(
    staging: Path, template_path: Path, shard_files: list[Path], ids: np.ndarray, progress: Reporter
) -> dict[str, Any]:
    """Merge the shards' lists into ``index.ivfdata``; ``index.faiss`` becomes the one IVF index
    (in an ``IndexIDMap`` with the chunk ids) that memory-maps it."""
    from faiss.contrib.ondisk import merge_ondisk

    from python_ext.index import versions as _v

    with progress.task(f"merging {len(shard_files)} shards on disk", total=1) as advance:
        wrapped = faiss.IndexIDMap(faiss.read_index(str(template_path)))
        ivfdata = staging / IVFDATA_FILE
        with silenced(1):
            # shift_ids stays False: the shards already store corpus rows (FAISS 1.15's
            # shift_ids=True skips one id per shard boundary)
            merge_ondisk(wrapped, [str(p) for p in shard_files], str(ivfdata), shift_ids=False)
        faiss.copy_array_to_vector(np.ascontiguousarray(ids, dtype="int64"), wrapped.id_map)
        wrapped.ntotal = len(ids)
        with atomic_path(staging / _v.INDEX_FILE) as tmp:
            faiss.write_index(wrapped, str(tmp))
        del wrapped
        for path in shard_files:
            path.unlink(missing_ok=True)
        advance(1)
    return {"template_sha256": None, "ivfdata_sha256": file_sha256(ivfdata)}


# --- loading ---------------------------------------------------------------------------------


def read_version_index(folder: Path, manifest: dict[str, Any], *, verify: bool = True) -> faiss.Index:
    """Read a version's index as one searchable index: the single ``index.faiss``, or the
    sharded / on-disk layouts described in version.json ``sharding``.

    :raises IndexMismatchError: a shard file or ``index.ivfdata`` is missing or its sha256
        differs from version.json, or the shards disagree with their template.
    """
    from python_ext.index import versions as _v
    from python_ext.index.load import read_index_file

    block = manifest.get("sharding")
    index_path = folder / _v.INDEX_FILE
    version = str(manifest.get("version"))
    if not block:
        return read_index_file(index_path, version)
    if block["layout"] == "ondisk":
        ivfdata = folder / IVFDATA_FILE
        _check_file(ivfdata, block.get("ivfdata_sha256"), "on-disk inverted lists", verify, manifest)
        with silenced(1):
            return read_index_file(index_path, version, faiss.IO_FLAG_ONDISK_SAME_DIR)
    template = read_index_file(index_path, version)
    owners, ids = [], []
    for part in block["parts"]:
        path = folder / part["file"]
        _check_file(path, part.get("sha256"), f"shard {part['shard']}", verify, manifest)
        shard = read_index_file(path, version)
        if not isinstance(shard, faiss.IndexIDMap) or shard.ntotal != part["ntotal"]:
            raise IndexMismatchError(
                f"{path}: shard {part['shard']} holds {shard.ntotal} vectors, version.json says "
                f"{part['ntotal']}",
                hint="rebuild with `indexctl index build --shards N`",
            )
        ids.append(faiss.vector_to_array(shard.id_map).astype("int64", copy=False))
        shard.id_map.swap(faiss.Int64Vector())  # the outer id map holds them: free this copy
        owners.append(shard)
    all_ids = np.concatenate(ids) if ids else np.empty(0, "int64")
    return assemble(template, [o.index for o in owners], all_ids, owners=owners)


def _check_file(path: Path, want: str | None, label: str, verify: bool, manifest: dict[str, Any]) -> None:
    if not path.is_file():
        raise IndexMismatchError(
            f"{path}: the {label} of version {manifest.get('version')} is missing",
            hint="rebuild with `indexctl index build --shards N`",
        )
    if verify:
        got = file_sha256(path)
        if got != want:
            raise IndexMismatchError(
                f"{path}: {label} sha256 {got[:16]}… does not match version.json {str(want)[:16]}… "
                f"(version {manifest.get('version')})",
                hint="the files were changed after the build: rebuild with `indexctl index build`",
            )


def assemble(
    template: faiss.Index, shards: list[faiss.Index], ids: np.ndarray, *, owners: list[Any] | None = None
) -> faiss.IndexIDMap:
    """One ``IndexIDMap`` over ``IndexShards`` whose inner index returns corpus rows.

    IVF families get ``IndexShardsIVF``: the coarse quantizer (shard 0's, identical in every
    shard) runs once per query and each shard scans only its own lists. Every shard keeps its
    copy of the quantizer, so a shard file is a complete index on its own.

    :param template: the trained, empty index the shards were filled from.
    :param shards: the filled shards, in row order (their labels are shard-local rows).
    :param ids: chunk ids of every row, shard after shard.
    :param owners: the Python objects that own ``shards`` (kept alive with the result).
    :raises IndexMismatchError: a shard's coarse quantizer differs from the template's.
    """
    try:
        template_ivf = faiss.extract_index_ivf(template)
    except RuntimeError:
        template_ivf = None
    if template_ivf is not None:
        want = faiss.serialize_index(template_ivf.quantizer)
        for number, shard in enumerate(shards):
            if not np.array_equal(faiss.serialize_index(faiss.extract_index_ivf(shard).quantizer), want):
                raise IndexMismatchError(
                    f"shard {number}: its coarse quantizer differs from the version's template",
                    hint="rebuild with `indexctl index build --shards N`",
                )
        quantizer = faiss.extract_index_ivf(shards[0]).quantizer
        sharded = faiss.IndexShardsIVF(quantizer, template_ivf.nlist, True, True)
    else:
        sharded = faiss.IndexShards(template.d, True, True)
    sharded.metric_type = template.metric_type
    wrapped = faiss.IndexIDMap(sharded)
    for shard in shards:
        sharded.add_shard(shard)
    wrapped.referenced_objects.extend([template, *(owners or [])])
    if int(sharded.ntotal) != len(ids):
        raise IndexMismatchError(
            f"the shards hold {int(sharded.ntotal)} vectors but their id maps {len(ids)}",
            hint="rebuild with `indexctl index build --shards N`",
        )
    faiss.copy_array_to_vector(np.ascontiguousarray(ids, dtype="int64"), wrapped.id_map)
    wrapped.ntotal = sharded.ntotal
    return wrapped


def refilled_copy(index: faiss.Index, row_vectors: np.ndarray) -> faiss.IndexIDMap:
    """A copy of a sharded index holding ``row_vectors`` (one per row, same ids and shard
    boundaries) instead of its own vectors (evaluation's masked copy).

    :raises IndexMismatchError: ``row_vectors`` has a different number of rows.
    """
    index = faiss.downcast_index(index)
    if len(row_vectors) != index.ntotal:
        raise IndexMismatchError(
            f"{len(row_vectors)} vectors for an index of {index.ntotal} rows", hint="pass one vector per row"
        )
    ids = faiss.vector_to_array(index.id_map).astype("int64")
    old = shard_indexes(index)
    template = faiss.clone_index(old[0])
    template.reset()
    copies, row = [], 0
    x = np.ascontiguousarray(row_vectors, dtype="float32")
    for shard in old:
        copy = faiss.clone_index(shard)
        copy.reset()
        copy.add(x[row : row + shard.ntotal])
        row += shard.ntotal
        copies.append(copy)
    return assemble(template, copies, ids, owners=copies)
