"""Build a FAISS index version from the chunks: validate, train, add, write, publish.

Steps of :func:`build_index` (each one a named pause point for the crash tests):

1. validate every vector in one streaming pass (mixed widths, NaN, norms for ``ip``,
   duplicate ids) and draw the training sample;
2. choose the factory (``auto``: :mod:`python_ext.index.factory`) and train it on the sample —
   on the GPU when the device allows (``after_train``);
3. add the vectors batch by batch with their chunk ids into an ``IndexIDMap2``
   (``after_add``); on the GPU the inner index is filled there and copied back to the CPU;
4. write ``index.faiss``, ``faiss_idmap.parquet``, ``chunk_meta.parquet`` (what search shows
   of each chunk, in row order: :data:`~python_ext.contracts.CHUNK_META_SCHEMA`), the BM25
   index ``bm25/`` over the same chunks in the same row order (:mod:`python_ext.index.bm25`),
   ``vectors.npy`` (the exact vectors, for indexes that are not ``Flat``:
   :mod:`python_ext.index.vectors`) and ``version.json`` into ``versions/.tmp-<version>/``
   (``after_write``), rename it to ``versions/<version>`` (``after_commit``);
5. publish: flip ``CURRENT``, then the ``current`` symlink (unless ``publish=False``).

With ``shards`` > 1 (or ``layout="ondisk"``) step 3 fills S copies of the trained index, one
per contiguous row range, in parallel worker processes (:mod:`python_ext.index.shards`), and
step 4 writes the trained template as ``index.faiss`` beside the shard files (or the shards'
lists merged into ``index.ivfdata``).
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np
import pyarrow as pa

from python_ext import chunkstore
from python_ext.atomic import atomic_write_parquet
from python_ext.config import DataRootLike, resolve_data_root
from python_ext.contracts import CHUNK_META_SCHEMA
from python_ext.errors import IndexBuildError, InputError
from python_ext.index import versions as _v
from python_ext.index.bm25 import BM25_PARAMS, TOKENIZER, build_bm25, write_bm25
from python_ext.index.factory import FactoryChoice, choose_factory, explicit_factory, metric_code
from python_ext.index.gpu import Device, attach_gpu_clustering, resolve_device, to_cpu, to_gpu
from python_ext.index.idmap import file_sha256, write_idmap
from python_ext.index.load import accepted_parameters, apply_operating_point
from python_ext.index.shards import build_shards, check_shard_options, parameter_index, read_version_index
from python_ext.index.source import DEFAULT_BATCH_ROWS, count_rows, iter_vector_batches, scan_corpus
from python_ext.index.vectors import VECTORS_FILE, create_vectors_file, holds_exact_vectors, scores_exactly
from python_ext.lang.tokens import code_tokens
from python_ext.lock import writes_data_root
from python_ext.progress import NULL_PROGRESS, Reporter

INDEX_NAME = "chunks"
MANIFEST_FORMAT = 1


@dataclass
class BuildResult:
    """What :func:`build_index` produced.

    :param version: the new version name.
    :param manifest: its version.json content.
    :param published: True when CURRENT now names it.
    :param reason: why the factory was chosen.
    """

    version: str
    manifest: dict[str, Any]
    published: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "published": self.published,
            "factory": self.manifest["factory"],
            "factory_reason": self.reason,
            "metric": self.manifest["metric"],
            "dim": self.manifest["dim"],
            "ntotal": self.manifest["ntotal"],
            "operating_point": self.manifest["operating_point"],
            "device": self.manifest["device"],
            "shards": (self.manifest.get("sharding") or {}).get("count", 1),
            "layout": (self.manifest.get("sharding") or {}).get("layout", "single"),
            "build_seconds": self.manifest["build_seconds"],
        }


def default_operating_point(index: faiss.Index) -> str:
    """A reasonable untuned operating point (``index tune`` replaces it with a measured one).

    IVF: ``nprobe`` ≈ nlist/32 (at least 8); HNSW: ``efSearch=64``; HNSW coarse quantizer:
    ``quantizer_efSearch`` ≥ 2·nprobe; FAISS refinement: ``k_factor_rf=4``; an index that scores
    with compressed codes (PQ, SQ, …) and has no FAISS refinement: ``k_factor=4`` (exact re-rank
    of 4·k candidates against the stored vectors); Flat: ``""``.
    """
    index = parameter_index(index)
    params = accepted_parameters(index)
    parts = []
    nprobe = 0
    if "nprobe" in params:
        nlist = faiss.extract_index_ivf(index).nlist
        nprobe = min(nlist, max(8, nlist // 32))
        parts.append(f"nprobe={nprobe}")
    if "quantizer_efSearch" in params:
        parts.append(f"quantizer_efSearch={max(64, 2 * nprobe)}")
    if "efSearch" in params:
        parts.append("efSearch=64")
    for refine in ("k_factor_rf", "k_factor"):
        if refine in params:
            parts.append(f"{refine}=4")
            break
    else:
        if not scores_exactly(index):
            parts.append("k_factor=4")
    return ",".join(parts)


def _train(
    choice: FactoryChoice, d: int, metric: int, sample: np.ndarray, device: Device, progress: Reporter
) -> tuple[faiss.Index, bool]:
    """Create and train the inner index; returns it and whether the GPU did the training."""
    inner = faiss.index_factory(d, choice.factory, metric)
    if inner.is_trained:
        return inner, False
    if len(sample) == 0:
        raise IndexBuildError(f"factory {choice.factory} needs training vectors but the sample is empty")
    used_gpu = False
    with progress.task(f"training {choice.factory} on {len(sample):,} vectors", total=1) as advance:
        if device.use_gpu:
            # IVF families: k-means on the GPU (the GPU flat index must outlive train()).
            gpu_clustering = attach_gpu_clustering(inner, d, metric)
            if gpu_clustering is not None:
                inner.train(sample)
                faiss.extract_index_ivf(inner).clustering_index = None
                del gpu_clustering
                used_gpu = True
            else:
                gpu_index = to_gpu(inner)
                if gpu_index is not None:
                    gpu_index.train(sample)
                    inner = to_cpu(gpu_index)
                    used_gpu = True
        if not used_gpu:
            inner.train(sample)
        advance(1)
    return inner, used_gpu


def _fill_vectors(sink: np.ndarray, scan_ids: np.ndarray, files: list, d: int, batch_rows: int) -> None:
    """Copy every vector to its row of ``sink`` (``vectors.npy``) for a sharded build, whose
    shards are filled in worker processes: one more streamed pass over the chunk files."""
    pos = 0
    for batch in iter_vector_batches(files, batch_rows, expect_d=d):
        n = len(batch.ids)
        if not np.array_equal(batch.ids, scan_ids[pos : pos + n]):
            raise IndexBuildError(
                f"{batch.path}: the chunks changed while the index was being built (row {batch.first_row})",
                hint="run `indexctl index build` again once ingest has finished",
            )
        sink[pos : pos + n] = batch.vectors
        pos += n
    if pos != len(scan_ids):
        raise IndexBuildError("the chunks changed while the index was being built (row count)")


def _add(
    inner: faiss.Index,
    scan_ids: np.ndarray,
    files: list,
    d: int,
    device: Device,
    batch_rows: int,
    progress: Reporter,
    sink: np.ndarray | None = None,
) -> tuple[faiss.Index, bool]:
    """Add every vector; returns the ``IndexIDMap2`` around ``inner`` and whether the GPU added.

    :param sink: a ``(n, d)`` array that receives every vector at its row (``vectors.npy``).
    """
    gpu_inner = to_gpu(inner) if device.use_gpu else None
    used_gpu = gpu_inner is not None
    wrapped = None if used_gpu else faiss.IndexIDMap2(inner)
    pos = 0
    with progress.task("adding vectors", total=len(scan_ids)) as advance:
        for batch in iter_vector_batches(files, batch_rows, expect_d=d):
            n = len(batch.ids)
            if not np.array_equal(batch.ids, scan_ids[pos : pos + n]):
                raise IndexBuildError(
                    f"{batch.path}: the chunks changed while the index was being built "
                    f"(row {batch.first_row})",
                    hint="run `indexctl index build` again once ingest has finished",
                )
            if gpu_inner is not None:
                gpu_inner.add(batch.vectors)
            else:
                wrapped.add_with_ids(batch.vectors, batch.ids)
            if sink is not None:
                sink[pos : pos + n] = batch.vectors
            pos += n
            advance(n)
    if pos != len(scan_ids):
        raise IndexBuildError("the chunks changed while the index was being built (row count)")
    if gpu_inner is not None:
        # IndexIDMap2 only wraps an empty index: wrap the empty CPU index, then hand the filled
        # copy from the device to the wrapper (which takes ownership) and attach the ids.
        filled = to_cpu(gpu_inner)
        del gpu_inner
        wrapped = faiss.IndexIDMap2(inner)
        filled.this.disown()
        wrapped.index = filled
        wrapped.own_fields = True
        faiss.copy_array_to_vector(np.ascontiguousarray(scan_ids, dtype="int64"), wrapped.id_map)
        wrapped.ntotal = filled.ntotal
        wrapped.construct_rev_map()
        inner = filled
    _enable_reconstruct(inner)
    return wrapped, used_gpu


def _chunk_pass(
    files: list, scan_ids: np.ndarray, batch_rows: int, want_tokens: bool, progress: Reporter
) -> tuple[pa.Table, list[list[str]]]:
    """The version's chunk metadata (:data:`CHUNK_META_SCHEMA`) and, when asked, the code tokens
    of every chunk's content, both in index row order (checked against the scan)."""
    import pyarrow.parquet as pq

    columns = ["id", "uri", "start_line", "end_line", "lang", "symbols", "content_hash", "preview"]
    enclosing = "enclosing_symbol"
    parts: list[pa.Table] = []
    tokens: list[list[str]] = []
    pos = 0
    label = "tokenizing chunks for BM25" if want_tokens else "reading chunk metadata"
    with progress.task(label, total=len(scan_ids)) as advance:
        for path in files:
            parquet = pq.ParquetFile(path)
            has_enclosing = enclosing in parquet.schema_arrow.names  # chunks written before it: null
            read = columns + ([enclosing] if has_enclosing else []) + (["content"] if want_tokens else [])
            for batch in parquet.iter_batches(batch_size=batch_rows, columns=read):
                ids = batch.column("id").to_numpy(zero_copy_only=False).astype("int64", copy=False)
                if not np.array_equal(ids, scan_ids[pos : pos + len(ids)]):
                    raise IndexBuildError(
                        f"{path}: the chunks changed while the index was being built",
                        hint="run `indexctl index build` again once ingest has finished",
                    )
                if want_tokens:
                    tokens.extend(code_tokens(text) for text in batch.column("content").to_pylist())
                parts.append(
                    pa.table(
                        {
                            "faiss_row": pa.array(np.arange(pos, pos + len(ids), dtype=np.int64)),
                            "chunk_id": pa.array(ids),
                            "uri": batch.column("uri").cast(pa.string()),
                            "start_line": batch.column("start_line").cast(pa.int32()),
                            "end_line": batch.column("end_line").cast(pa.int32()),
                            "language": batch.column("lang").cast(pa.string()),
                            "symbols": batch.column("symbols").cast(pa.list_(pa.string())),
                            "content_hash": batch.column("content_hash").cast(pa.string()),
                            "preview": batch.column("preview").cast(pa.string()),
                            "enclosing_symbol": batch.column(enclosing).cast(pa.string())
                            if has_enclosing
                            else pa.nulls(len(ids), pa.string()),
                        },
                        schema=CHUNK_META_SCHEMA,
                    )
                )
                pos += len(ids)
                advance(len(ids))
    table = pa.concat_tables(parts) if parts else CHUNK_META_SCHEMA.empty_table()
    return table, tokens


def _enable_reconstruct(inner: faiss.Index) -> None:
    """IVF indexes need a direct map (row → list entry) for ``reconstruct(chunk_id)``."""
    try:
        ivf = faiss.extract_index_ivf(inner)
    except RuntimeError:
        return
    ivf.make_direct_map(True)


def _index_type(factory: str, sharding: dict[str, Any] | None) -> str:
    """How the version's index is put together (``index_type`` in version.json)."""
    if sharding is None:
        return "IDMap2," + factory
    if sharding["layout"] == "ondisk":
        return f"IDMap,{factory} (on-disk lists)"
    return f"IDMap,Shards{sharding['count']}({factory})"


@writes_data_root("index build")
def build_index(
    data_root: DataRootLike,
    *,
    factory: str = "auto",
    metric: str = "ip",
    gpu: str = "auto",
    publish: bool = True,
    shards: int = 1,
    layout: str = "shards",
    workers: int | None = None,
    bm25: bool = True,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    seed: int = 1234,
    progress: Reporter = NULL_PROGRESS,
) -> BuildResult:
    """Build a new index version from the chunks and (by default) publish it.

    :param data_root: the data root (chunks in, ``faiss/`` out).
    :param factory: ``auto`` or a FAISS factory string (``IDMap2,`` is added).
    :param metric: ``ip`` (inner product; vectors must be L2-normalized) or ``l2``.
    :param gpu: ``auto``, ``on`` (GPU required) or ``off``.
    :param publish: flip CURRENT to the new version (False: build only).
    :param shards: fill this many shards of the trained index and serve them as one
        (:mod:`python_ext.index.shards`; 1 = one index).
    :param layout: ``shards`` (one file per shard, served with ``IndexShards``) or ``ondisk``
        (IVF only: the shards' lists merged into one memory-mapped ``index.ivfdata``).
    :param workers: processes filling the shards (default: one per core, at most ``shards``).
    :param bm25: build the BM25 index beside the FAISS index (default True; False only for
        vector-only experiments: such a version cannot serve the ``bm25``/``hybrid`` channels).
    :param batch_rows: rows per streamed batch.
    :param seed: seed of the training sample (same chunks + seed → same index).
    :raises GpuUnavailableError: ``gpu="on"`` without a GPU.
    :raises ContractError: invalid vectors (mixed widths, NaN, norms, duplicate ids).
    :raises IndexBuildError: FAISS failed to train/add/write.
    """
    data_root = resolve_data_root(data_root)
    started = time.perf_counter()
    mcode = metric_code(metric)
    device = resolve_device(gpu)
    info = chunkstore.corpus_info(data_root)
    files = chunkstore.chunk_files(data_root)
    n = count_rows(files)
    if n == 0:
        raise InputError(
            f"the chunks under {data_root.chunks_dir} have no rows", hint="ingest a repository with code"
        )
    sharded = shards != 1 or layout != "shards"
    choice = (
        choose_factory(n, info.dim) if factory == "auto" else explicit_factory(factory, n, info.dim, metric)
    )
    if sharded:
        check_shard_options(shards, layout, n, faiss.index_factory(info.dim, choice.factory, mcode))
    progress.log(f"factory {choice.factory}: {choice.reason}")
    scan = scan_corpus(
        data_root,
        metric=metric,
        sample_size=choice.train_size,
        seed=seed,
        batch_rows=batch_rows,
        progress=progress,
    )
    fingerprint = chunkstore.chunks_fingerprint(data_root)
    version = _v.new_version_name(data_root, f"{fingerprint}|{choice.factory}|{metric}")
    staging = _v.staging_dir(data_root, version)
    try:
        try:
            inner, gpu_trained = _train(choice, scan.d, mcode, scan.sample, device, progress)
            _v.pause_point("after_train")
            sink = None if holds_exact_vectors(inner) else create_vectors_file(staging, scan.n, scan.d)
            sharding = None
            if sharded:
                sharding, gpu_added = build_shards(
                    staging,
                    inner,
                    scan.files,
                    [count_rows([p]) for p in scan.files],
                    scan.ids,
                    shards=shards,
                    layout=layout,
                    workers=workers,
                    device=device,
                    batch_rows=batch_rows,
                    progress=progress,
                )
                index = read_version_index(staging, {"sharding": sharding}, verify=False)
                if sink is not None:
                    _fill_vectors(sink, scan.ids, scan.files, scan.d, batch_rows)
            else:
                index, gpu_added = _add(
                    inner, scan.ids, scan.files, scan.d, device, batch_rows, progress, sink=sink
                )
        except RuntimeError as exc:
            raise IndexBuildError(
                f"FAISS failed to build {choice.factory}: {exc}", hint="try --factory auto"
            ) from exc
        _v.pause_point("after_add")
        vectors_sha = None
        if sink is not None:
            sink.flush()
            del sink
            vectors_sha = file_sha256(staging / VECTORS_FILE)
        meta, tokens = _chunk_pass(scan.files, scan.ids, batch_rows, bm25, progress)
        atomic_write_parquet(staging / _v.CHUNK_META_FILE, meta)
        meta_sha = file_sha256(staging / _v.CHUNK_META_FILE)
        del meta
        bm25_sha, bm25_info = None, None
        if bm25:
            with progress.task("building the BM25 index", total=1) as advance:
                lexical = build_bm25(tokens)
                bm25_sha = write_bm25(lexical, staging)
                advance(1)
            bm25_info = {
                **BM25_PARAMS,
                "tokenizer": TOKENIZER,
                "n_docs": lexical.n_docs,
                "vocabulary": len(lexical.retriever.vocab_dict),
            }
            del tokens, lexical
        operating_point = default_operating_point(index)
        apply_operating_point(index, operating_point)
        built_at = dt.datetime.now(dt.UTC)
        if sharding is None:
            faiss.write_index(index, str(staging / _v.INDEX_FILE))
        index_sha = file_sha256(staging / _v.INDEX_FILE)
        idmap_sha = write_idmap(
            index, staging / _v.IDMAP_FILE, index_name=INDEX_NAME, build_version=version, built_at=built_at
        )
        manifest = {
            "format": MANIFEST_FORMAT,
            "version": version,
            "created_at": built_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "index_name": INDEX_NAME,
            "factory": choice.factory,
            "factory_reason": choice.reason,
            "index_type": _index_type(choice.factory, sharding),
            "sharding": sharding,
            "metric": metric,
            "dim": scan.d,
            "ntotal": int(index.ntotal),
            "train_size": len(scan.sample) if choice.train_size else 0,
            "operating_point": operating_point,
            "operating_point_source": "default",
            "idmap_sha256": idmap_sha,
            "index_sha256": index_sha,
            "chunk_meta_sha256": meta_sha,
            "bm25_sha256": bm25_sha,
            "bm25": bm25_info,
            "vectors_file_sha256": vectors_sha,
            "chunks_fingerprint": fingerprint,
            "vectors_sha256": scan.fingerprint,
            "embedding_model": scan.info.model,
            "embedding_kind": scan.info.kind,
            "embedding_normalized": scan.info.normalized,
            "embedding_backend": scan.info.backend,
            "embedding_precision": scan.info.precision,
            "device": device.name if (gpu_trained or gpu_added) else "cpu",
            "gpu_steps": [step for step, used in (("train", gpu_trained), ("add", gpu_added)) if used],
            "faiss_version": faiss.__version__,
            "build_seconds": round(time.perf_counter() - started, 3),
            "tuning": None,
        }
        _v.write_manifest(staging, manifest)
        _v.pause_point("after_write")
        _v.commit_staging(data_root, staging, version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _v.pause_point("after_commit")
    if publish:
        _v.publish(data_root, version)
    return BuildResult(version, manifest, publish, choice.reason)
