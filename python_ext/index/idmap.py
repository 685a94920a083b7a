"""The FAISS id map (docs/contracts.md#faiss-idmap): export, sha256, and agreement checks.

One row per vector stored in the index: ``faiss_row`` is the vector's position inside the
index (0..ntotal-1, the order vectors were added), ``faiss_id`` the label FAISS returns from a
search, which under ``IndexIDMap2`` is the chunk id, so ``chunk_id == faiss_id``. The file's
sha256 is recorded in version.json and checked whenever the index is loaded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from python_ext.atomic import atomic_write_parquet
from python_ext.config import DataRootLike, check_version_name, resolve_data_root
from python_ext.contracts import FAISS_IDMAP_SCHEMA
from python_ext.errors import IndexMismatchError
from python_ext.lock import writes_data_root


def index_ids(index: faiss.Index) -> np.ndarray:
    """Row → id vector of an ``IndexIDMap``/``IndexIDMap2`` (int64, length ntotal).

    :raises IndexMismatchError: the index is not wrapped in an id map.
    """
    index = faiss.downcast_index(index)
    if not isinstance(index, faiss.IndexIDMap):
        raise IndexMismatchError(
            f"index is a {type(index).__name__}, not an IndexIDMap2: it cannot return chunk ids",
            hint="rebuild with `indexctl index build` (every index is wrapped in IndexIDMap2)",
        )
    return faiss.vector_to_array(index.id_map).astype("int64", copy=False)


class RowMap:
    """Chunk id ↔ FAISS row lookups for one index (rows are the add order, ``faiss_row``).

    :param id_of_row: the id map (:func:`index_ids`), row → chunk id.
    """

    def __init__(self, id_of_row: np.ndarray) -> None:
        self.id_of_row = np.ascontiguousarray(id_of_row, dtype=np.int64)
        self._order = np.argsort(self.id_of_row, kind="stable")
        self._sorted = self.id_of_row[self._order]

    def __len__(self) -> int:
        return len(self.id_of_row)

    def rows_of(self, ids: np.ndarray | list[int]) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, found)`` for ``ids`` in their order: ``rows[i]`` is meaningful where ``found[i]``."""
        keys = np.asarray(ids, dtype=np.int64).reshape(-1)
        if not len(self._sorted):
            return np.zeros(len(keys), np.int64), np.zeros(len(keys), bool)
        pos = np.minimum(np.searchsorted(self._sorted, keys), len(self._sorted) - 1)
        found = self._sorted[pos] == keys
        return self._order[pos], found


def idmap_table(index: faiss.Index, index_name: str, build_version: str, built_at: dt.datetime) -> pa.Table:
    """The id map of ``index`` as an Arrow table with :data:`FAISS_IDMAP_SCHEMA`."""
    ids = index_ids(index)
    n = len(ids)
    stamp = built_at.astimezone(dt.UTC).replace(tzinfo=None) if built_at.tzinfo else built_at
    return pa.table(
        {
            "faiss_row": pa.array(np.arange(n, dtype="int64")),
            "faiss_id": pa.array(ids),
            "chunk_id": pa.array(ids),
            "index_name": pa.array([index_name] * n, pa.string()),
            "build_version": pa.array([build_version] * n, pa.string()),
            "built_at": pa.array([stamp] * n, pa.timestamp("us")),
        },
        schema=FAISS_IDMAP_SCHEMA,
    )


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_idmap(
    index: faiss.Index, path: str | Path, *, index_name: str, build_version: str, built_at: dt.datetime
) -> str:
    """Write the id map of ``index`` to ``path`` atomically; return the file's sha256."""
    table = idmap_table(index, index_name, build_version, built_at)
    check_idmap(index, table, source=str(path))
    atomic_write_parquet(path, table, row_group_size=1_000_000)
    return file_sha256(path)


def check_idmap(index: faiss.Index, table: pa.Table, source: str = "faiss_idmap") -> None:
    """Check that an id map agrees exactly with ``index``.

    Rules: ntotal rows; ``faiss_row`` is 0..ntotal-1 in order; ``faiss_id`` equals the index's
    row → id vector; ``chunk_id == faiss_id``; every id appears once.

    :raises IndexMismatchError: naming the first disagreeing row.
    """
    ids = index_ids(index)
    if table.num_rows != len(ids):
        raise IndexMismatchError(
            f"{source}: {table.num_rows} rows but the index holds {len(ids)} vectors",
            hint="re-export with `indexctl index export-idmap`",
        )
    rows = table.column("faiss_row").to_numpy()
    fids = table.column("faiss_id").to_numpy()
    cids = table.column("chunk_id").to_numpy()
    for name, got, want in (
        ("faiss_row", rows, np.arange(len(ids))),
        ("faiss_id", fids, ids),
        ("chunk_id", cids, ids),
    ):
        bad = np.flatnonzero(got != want)
        if len(bad):
            r = int(bad[0])
            raise IndexMismatchError(
                f"{source}: row {r}: {name} is {int(got[r])} but the index has {int(want[r])}",
                hint="re-export with `indexctl index export-idmap`",
            )
    if len(np.unique(fids)) != len(fids):
        raise IndexMismatchError(f"{source}: faiss_id values are not unique", hint="rebuild the index")


def read_idmap(path: str | Path) -> pa.Table:
    """Read an id map file (columns of :data:`FAISS_IDMAP_SCHEMA`).

    :raises IndexMismatchError: the file is not readable Parquet or lacks the contract's columns.
    """
    try:
        return pq.read_table(path, schema=FAISS_IDMAP_SCHEMA)
    except (pa.ArrowException, OSError) as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise IndexMismatchError(
            f"{path}: not a readable faiss_idmap Parquet file ({detail})",
            hint="re-export it with `indexctl index export-idmap`, or rebuild with `indexctl index build`",
        ) from exc


@dataclass
class IdmapExportResult:
    """One re-exported id map: the version, the file, its rows and its sha256."""

    version: str
    path: str
    rows: int
    idmap_sha256: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@writes_data_root("index export-idmap")
def export_idmap(data_root: DataRootLike, version: str | None = None) -> IdmapExportResult:
    """Re-export ``faiss_idmap.parquet`` of a version from its index file; update version.json.

    The index file is checked against ``index_sha256`` first (the id map is derived from it);
    the new file's sha256 replaces ``idmap_sha256``. Both writes are atomic.

    :param version: the version (default: the published one).
    :raises IndexMismatchError: the index file does not match version.json.
    """
    data_root = resolve_data_root(data_root)
    from python_ext.index import versions as _v

    name = (
        check_version_name(version, what="--version")
        if version is not None
        else _v.current_version(data_root)
    )
    manifest = _v.read_manifest(data_root, name)
    folder = data_root.version_dir(name)
    index_path = folder / _v.INDEX_FILE
    got = file_sha256(index_path)
    if got != manifest.get("index_sha256"):
        raise IndexMismatchError(
            f"{index_path}: index sha256 {got[:16]}… does not match version.json "
            f"{str(manifest.get('index_sha256'))[:16]}…",
            hint="rebuild with `indexctl index build`",
        )
    from python_ext.index.shards import read_version_index

    index = read_version_index(folder, manifest)
    try:
        built_at = dt.datetime.fromisoformat(manifest["created_at"].replace("Z", "+00:00"))
    except ValueError as exc:
        raise IndexMismatchError(
            f"{folder / _v.MANIFEST_FILE}: created_at {manifest['created_at']!r} is not an ISO time",
            hint="rebuild with `indexctl index build`",
        ) from exc
    sha = write_idmap(
        index,
        folder / _v.IDMAP_FILE,
        index_name=manifest["index_name"],
        build_version=name,
        built_at=built_at,
    )
    if sha != manifest.get("idmap_sha256"):
        manifest["idmap_sha256"] = sha
        _v.write_manifest(folder, manifest)
    return IdmapExportResult(
        version=name, path=str(folder / _v.IDMAP_FILE), rows=int(index.ntotal), idmap_sha256=sha
    )
