"""One loaded index version with everything search needs, read once and never changed.

:func:`load_state` verifies and loads, for one version: the FAISS index at its operating point
(:func:`python_ext.index.load.load_index`), the id map, the chunk metadata
(:mod:`python_ext.search.corpus`), the exact vectors (:mod:`python_ext.index.vectors`), the BM25
index (:mod:`python_ext.index.bm25`) and the catalog's memory-mapped hydration index (for chunk
text). A :class:`SearchState` is immutable after loading, so a request that picked one state
is answered wholly from it while a newer state is being loaded next to it
(:class:`python_ext.search.Searcher`).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.errors import IndexctlError, IndexMismatchError, InputError, StaleCatalogWarning
from python_ext.index.bm25 import Bm25Index, has_bm25, load_bm25
from python_ext.index.idmap import RowMap, index_ids
from python_ext.index.load import LoadedIndex, load_index
from python_ext.index.vectors import open_vectors
from python_ext.search.corpus import CorpusMeta, load_corpus_meta
from python_ext.search.symbols import SymbolIndex


def catalog_file_stamp(data_root: DataRoot) -> tuple[int, int, int] | None:
    """(inode, size, mtime) of the catalog file, or None when there is none."""
    try:
        st = os.stat(data_root.db_path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass
class SearchState:
    """An index version loaded for search (see the module docstring)."""

    data_root: DataRoot
    loaded: LoadedIndex = field(repr=False)
    rows: RowMap = field(repr=False)
    meta: CorpusMeta = field(repr=False)
    vectors: np.ndarray | None = field(repr=False)
    vectors_error: IndexctlError | None
    bm25: Bm25Index | None = field(repr=False)
    bm25_error: IndexctlError | None
    hydration: Any = field(repr=False)
    catalog: tuple[int, int, int] | None
    loaded_at: dt.datetime
    load_seconds: float
    symbols: SymbolIndex = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.symbols = SymbolIndex(self.data_root, self.meta, self.contents)

    @property
    def version(self) -> str:
        return self.loaded.version

    @property
    def ntotal(self) -> int:
        return int(self.loaded.index.ntotal)

    @property
    def manifest(self) -> dict[str, Any]:
        return self.loaded.manifest

    def contents(self, rows: list[int]) -> dict[int, str | None]:
        """Chunk text of ``rows`` (None where the chunk's text changed since the build).

        Read from the catalog's hydration index when it has the chunk, else with one
        parameterized DuckDB query over the chunk files; a text whose content_hash differs from
        the one the version recorded is not returned.
        """
        if not rows:
            return {}
        ids = self.rows.id_of_row[np.asarray(rows, dtype=np.int64)].tolist()
        want_hash = dict(zip(ids, self.meta.table.column("content_hash").take(rows).to_pylist(), strict=True))
        found: dict[int, tuple[str, str]] = {}
        if self.hydration is not None:
            for cid, rec in self.hydration.lookup(ids).items():
                found[int(cid)] = (rec.get("content"), rec.get("content_hash"))
        missing = [i for i in ids if i not in found]
        if missing:
            found.update(_contents_from_chunks(self.data_root, missing))
        out: dict[int, str | None] = {}
        for row, cid in zip(rows, ids, strict=True):
            text, digest = found.get(cid, (None, None))
            out[int(row)] = text if digest == want_hash[cid] else None
        return out

    def describe(self) -> dict[str, Any]:
        """What ``/health`` shows about the state."""
        m = self.manifest
        return {
            "version": self.version,
            "factory": m.get("factory"),
            "metric": m.get("metric"),
            "operating_point": self.loaded.operating_point,
            "k_factor": self.loaded.k_factor,
            "ntotal": self.ntotal,
            "embedding_model": m.get("embedding_model"),
            "embedding_kind": m.get("embedding_kind"),
            "bm25": self.bm25 is not None,
            "bm25_error": self.bm25_error.message if self.bm25_error else None,
            "vectors": self.vectors is not None,
            "catalog": str(self.data_root.db_path) if self.catalog else None,
            "hydration_index": self.hydration is not None,
            "loaded_at": self.loaded_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "load_seconds": round(self.load_seconds, 3),
        }


def _contents_from_chunks(data_root: DataRoot, ids: list[int]) -> dict[int, tuple[str, str]]:
    import duckdb

    paths = chunkstore.chunk_files(data_root)
    if not paths:
        return {}
    for path in paths:  # a damaged file is named, never DuckDB's message about it
        chunkstore.check_columns(path, chunkstore.read_schema(path), ["id", "content", "content_hash"])
    con = duckdb.connect()
    try:
        rows = con.execute(
            "select id, content, content_hash from read_parquet($files) where id in (select unnest($ids))",
            {"files": [str(p) for p in paths], "ids": [int(i) for i in ids]},
        ).fetchall()
    except duckdb.Error as exc:
        raise InputError(
            f"cannot read the chunk text under {data_root.chunks_dir}: {exc}".strip(),
            hint="run `indexctl validate chunks` on the data root; re-run `indexctl ingest`",
        ) from exc
    finally:
        con.close()
    return {int(r[0]): (r[1], r[2]) for r in rows}


#: The catalog inputs chunk hydration depends on (other inputs changing, e.g. a new eval run, do
#: not make its chunk rows wrong).
HYDRATION_SOURCES = ("ingest.chunks", "index.current_version", "index.faiss_idmap")


def _open_hydration(data_root: DataRoot) -> Any:
    """The catalog's hydration index, or None: no catalog, or a stale one.

    A stale catalog (another version published, or its inputs changed since the build) is not
    read: a :class:`~python_ext.errors.StaleCatalogWarning` says so and chunk text comes from the
    chunk files (still checked against the content hash the version recorded).
    """
    import warnings

    from python_ext.catalog.hydration_index import open_hydration_index
    from python_ext.catalog.status import catalog_staleness

    if not data_root.db_path.is_file():
        return None
    stale = catalog_staleness(data_root, sources=HYDRATION_SOURCES)
    if stale:
        warnings.warn(
            StaleCatalogWarning(
                f"the catalog {data_root.db_path} is stale ({stale[0]}); search reads chunk text "
                "from the chunk files instead: run `indexctl catalog refresh`"
            ),
            stacklevel=3,
        )
        return None
    return open_hydration_index(data_root.db_path)


def load_state(
    data_root: DataRoot,
    version: str | None = None,
    *,
    operating_point: str | None = None,
) -> SearchState:
    """Load ``version`` (default: the published one) for search, every file verified.

    A missing BM25 index or missing stored vectors do not stop the load: the channels that need
    them raise the recorded error with its hint when asked for.

    :raises VersionNotFoundError: nothing is published / no such version.
    :raises IndexMismatchError: a file's sha256 or the id map disagrees with version.json.
    """
    import time

    t0 = time.perf_counter()
    catalog = catalog_file_stamp(data_root)
    loaded = load_index(data_root, version, operating_point=operating_point)
    rows = RowMap(index_ids(loaded.index))
    meta = load_corpus_meta(data_root, loaded.path, loaded.manifest, rows)
    vectors, vectors_error = None, None
    try:
        vectors = open_vectors(loaded.path, loaded.manifest, loaded.index)
    except IndexMismatchError as exc:
        if (loaded.path / "vectors.npy").exists():
            raise
        vectors_error = exc
    bm25, bm25_error = None, None
    if has_bm25(loaded.path):
        bm25 = load_bm25(loaded.path, loaded.manifest)
    else:
        bm25_error = IndexMismatchError(
            f"index version {loaded.version} has no BM25 index ({loaded.path}/bm25 does not exist)",
            hint="rebuild with `indexctl index build` (it builds the BM25 index beside FAISS), "
            "or search with --channel faiss",
        )
    hydration = _open_hydration(data_root)
    return SearchState(
        data_root=data_root,
        loaded=loaded,
        rows=rows,
        meta=meta,
        vectors=vectors,
        vectors_error=vectors_error,
        bm25=bm25,
        bm25_error=bm25_error,
        hydration=hydration,
        catalog=catalog,
        loaded_at=dt.datetime.now(dt.UTC),
        load_seconds=time.perf_counter() - t0,
    )
