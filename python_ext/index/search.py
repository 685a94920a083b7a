"""Search the published index with a text query and hydrate the hits.

The query is embedded with the embedder that produced the corpus (recorded in version.json:
``embedding_model``, ``dim``, ``embedding_normalized``, ``embedding_kind``), normalized for
``ip``, and searched at the version's operating point. FAISS returns chunk ids (the index is an
``IndexIDMap2``); the hits are hydrated with uri, lines and preview from the catalog's
hydration API when the catalog database exists, else with one parameterized DuckDB query
over the chunks Parquet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import faiss
import numpy as np

from python_ext import chunkstore
from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.contracts import EmbeddingInfo
from python_ext.errors import ConfigError, InputError
from python_ext.index.load import LoadedIndex, load_index


@dataclass
class SearchHit:
    """One search result (lines 1-based inclusive).

    :param rank: 1-based rank.
    :param chunk_id: the chunk id FAISS returned.
    :param score: inner product (``ip``) or squared L2 distance (``l2``).
    """

    rank: int
    chunk_id: int
    score: float
    uri: str | None
    start_line: int | None
    end_line: int | None
    preview: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def manifest_embedding_info(manifest: dict[str, Any]) -> EmbeddingInfo:
    """The corpus's :class:`EmbeddingInfo` as recorded in version.json."""
    return EmbeddingInfo.from_manifest(manifest)


def embed_query(manifest: dict[str, Any], texts: list[str]) -> np.ndarray:
    """Embed ``texts`` with the corpus's embedder (normalized for ``ip``).

    :raises ConfigError: the corpus was imported with precomputed vectors (no embedder here).
    :raises MissingDependencyError: the embedder's extra is not installed.
    """
    from python_ext.embed import embedder_from_info

    embedder = embedder_from_info(manifest_embedding_info(manifest))
    xq = np.ascontiguousarray(embedder.embed(texts), dtype="float32")
    if xq.shape[1] != int(manifest["dim"]):
        raise ConfigError(
            f"embedder {manifest['embedding_model']} returned {xq.shape[1]} dims, "
            f"the index has {manifest['dim']}",
            hint="rebuild the index with `indexctl index build` after re-ingesting",
        )
    if manifest["metric"] == "ip":
        faiss.normalize_L2(xq)
    return xq


def search_vectors(loaded: LoadedIndex, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Search ``xq`` (rows) at the loaded operating point; returns ``(scores, chunk_ids)``."""
    return loaded.index.search(np.ascontiguousarray(xq, dtype="float32"), k)


def hydrate_chunks(data_root: DataRoot, ids: list[int]) -> dict[int, dict[str, Any]]:
    """uri, start_line, end_line, preview of ``ids`` (catalog when built, else chunks Parquet)."""
    if not ids:
        return {}
    rows = _hydrate_from_catalog(data_root, ids)
    if rows is not None:
        return rows
    import duckdb

    files = [str(p) for p in chunkstore.chunk_files(data_root)]
    con = duckdb.connect()
    try:
        result = con.execute(
            "select id, uri, start_line, end_line, preview from read_parquet($files) "
            "where id in (select unnest($ids))",
            {"files": files, "ids": [int(i) for i in ids]},
        ).fetchall()
    finally:
        con.close()
    return {int(r[0]): {"uri": r[1], "start_line": r[2], "end_line": r[3], "preview": r[4]} for r in result}


def _hydrate_from_catalog(data_root: DataRoot, ids: list[int]) -> dict[int, dict[str, Any]] | None:
    """Rows from the catalog (``python_ext.catalog.hydrate.hydrate``), or None to fall back.

    Falls back when the catalog database does not exist, cannot be read, or lacks some of the
    ids (a catalog refreshed before the chunks changed).
    """
    if not data_root.db_path.is_file():
        return None
    import duckdb

    from python_ext.catalog.hydrate import hydrate
    from python_ext.errors import CatalogError

    try:
        rows = hydrate(ids, db_path=data_root.db_path)
    except (CatalogError, duckdb.Error):
        return None
    out = {
        int(r["chunk_id"]): {key: r.get(key) for key in ("uri", "start_line", "end_line", "preview")}
        for r in rows
    }
    return out if set(out) >= set(ids) else None


def search_text(
    data_root: DataRootLike,
    text: str,
    k: int = 10,
    *,
    version: str | None = None,
    operating_point: str | None = None,
) -> list[SearchHit]:
    """Embed ``text``, search the published (or given) version, hydrate the hits.

    :param text: the query.
    :param k: number of hits (≥ 1).
    :param version: search this version instead of the published one.
    :param operating_point: override the recorded operating point for this search.
    :raises InputError: empty query or k < 1.
    :raises VersionNotFoundError: nothing is published.
    """
    data_root = resolve_data_root(data_root)
    if not text.strip():
        raise InputError("the query text is empty", hint='pass a query, e.g. indexctl search "parse config"')
    if k < 1:
        raise InputError(f"-k must be >= 1 (got {k})", hint="use -k 10")
    loaded = load_index(data_root, version, operating_point=operating_point)
    xq = embed_query(loaded.manifest, [text])
    scores, ids = search_vectors(loaded, xq, k)
    found = [(float(s), int(i)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
    meta = hydrate_chunks(data_root, [i for _, i in found])
    hits = []
    for rank, (score, cid) in enumerate(found, start=1):
        m = meta.get(cid, {})
        hits.append(
            SearchHit(
                rank, cid, score, m.get("uri"), m.get("start_line"), m.get("end_line"), m.get("preview")
            )
        )
    return hits
