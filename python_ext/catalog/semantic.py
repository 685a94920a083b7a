"""Semantic SQL over the catalog: ``embed(text)`` on a DuckDB connection.

The catalog stores every embedding as ``FLOAT[d]`` and, since dbt creates them at the end of
every run (``macros/semantic/create_semantic_macros.sql``), three table macros any DuckDB
client can call: ``similar_chunks(chunk_id, k)``, ``nearest_chunks(vector, k)`` and
``near_duplicates(threshold, uri_like, max_pairs)``. What a plain DuckDB client cannot do is
turn text into a vector of the same space: :func:`register_semantic_functions` adds
``embed(text) -> FLOAT[d]`` to a connection, embedding with the corpus's own embedder, the one
the catalog records in ``v_embedding_model`` (so it works when the file is opened away from its
data root). ``indexctl catalog query``, :func:`python_ext.catalog.query.query_catalog` and
:func:`open_catalog` open the catalog with
:func:`python_ext.catalog.query.open_locked_connection` and :func:`register_semantic_functions`
as its prepare hook: a private in-memory DuckDB with the catalog file attached read-only (as
``codeintel``, the default database), ``embed`` registered on it, then external access disabled
and the configuration locked. Private, because DuckDB shares one database instance between connections to
the same file in a process, and a Python function registered through one connection must not
outlive it there.

The embedder is loaded on the first call, not at registration (MiniLM takes seconds), and
embeds each distinct text of a batch once. ``embed`` is deterministic, so DuckDB folds
``embed('a constant')`` into one call per query however many rows it is compared with.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from python_ext.config import DataRootLike, resolve_data_root
from python_ext.contracts import EmbeddingInfo
from python_ext.errors import CatalogError, ConfigError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from python_ext.embed.base import Embedder

#: Name of the SQL function registered by :func:`register_semantic_functions`.
EMBED_FUNCTION = "embed"
#: Width used for the return type when the catalog records no embedder and has no chunks.
_FALLBACK_DIM = 384


def catalog_embedding(con: duckdb.DuckDBPyConnection) -> EmbeddingInfo | None:
    """The embedder the catalog records (``v_embedding_model``), or None when it records none.

    :raises ConfigError: when the chunks files record more than one embedder.
    """
    import duckdb

    columns = "model, embedding_dim, is_normalized, kind"
    try:
        rows = con.execute(
            f"select {columns}, backend, precision from main.v_embedding_model order by all"
        ).fetchall()
    except duckdb.CatalogException:
        return None  # a catalog built before v_embedding_model existed
    except duckdb.BinderException:  # built before it recorded backends: the legacy rule below
        rows = [
            (*r, None, None)
            for r in con.execute(f"select {columns} from main.v_embedding_model order by all").fetchall()
        ]
    infos = [
        EmbeddingInfo.from_manifest(
            {
                "embedding_model": model,
                "dim": dim,
                "embedding_normalized": bool(normalized),
                "embedding_kind": kind,
                "embedding_backend": backend or "",
                "embedding_precision": precision or "",
            }
        )
        for model, dim, normalized, kind, backend, precision in rows
    ]
    if not infos:
        return None
    if len(infos) > 1:
        models = ", ".join(f"{i.identity} (d={i.dim})" for i in infos)
        raise ConfigError(
            f"the catalog's chunks were written by several embedders: {models}",
            hint="re-ingest the repository into an empty --out so one embedder writes every file",
        )
    return infos[0]


def _embedding_width(con: duckdb.DuckDBPyConnection, info: EmbeddingInfo | None) -> int:
    if info is not None:
        return info.dim
    import duckdb

    try:
        row = con.execute(
            "select data_type from information_schema.columns "
            "where table_catalog = current_database() and table_schema = 'main' "
            "and table_name = 'v_chunks' and column_name = 'embedding'"
        ).fetchone()
    except duckdb.Error:
        row = None
    if row and row[0].startswith("FLOAT[") and row[0].endswith("]"):
        return int(row[0][6:-1])
    return _FALLBACK_DIM


class _LazyEmbedder:
    """Loads the corpus's embedder on first use; remembers why it cannot, to say it each call."""

    def __init__(
        self, info: EmbeddingInfo | None, embedder: Embedder | None, failure: ConfigError | None = None
    ) -> None:
        self._info = info
        self._embedder = embedder
        self._failure = failure
        self._lock = threading.Lock()

    def get(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                if self._failure is not None:
                    raise self._failure
                if self._info is None:
                    raise ConfigError(
                        "embed(): the catalog records no embedder (v_embedding_model is empty or absent)",
                        hint="refresh the catalog (indexctl catalog refresh) over chunks written by "
                        "indexctl ingest",
                    )
                from python_ext.embed import embedder_from_info

                self._embedder = embedder_from_info(self._info)
            return self._embedder


def _embed_batch(lazy: _LazyEmbedder, dim: int) -> Callable[[pa.Array], pa.Array]:
    import numpy as np
    import pyarrow as pa

    from python_ext.embed.base import embed_queries

    # no annotations: DuckDB inspects the signature and evaluates them at registration
    def embed(texts):  # type: ignore[no-untyped-def]
        values = texts.to_pylist()
        distinct = sorted({v for v in values if v is not None})
        vectors: dict[str, np.ndarray] = {}
        if distinct:
            embedder = lazy.get()
            matrix = embed_queries(embedder, distinct)
            if matrix.shape != (len(distinct), dim):
                raise ConfigError(
                    f"embed(): the embedder returned vectors of shape {matrix.shape[1:]}, the catalog "
                    f"holds FLOAT[{dim}]",
                    hint="refresh the catalog over chunks written by this embedder",
                )
            vectors = dict(zip(distinct, matrix, strict=True))
        flat = np.zeros((len(values), dim), dtype=np.float32)
        mask = np.ones(len(values), dtype=bool)
        for i, value in enumerate(values):
            if value is not None:
                flat[i] = vectors[value]
                mask[i] = False
        return pa.FixedSizeListArray.from_arrays(
            pa.array(flat.ravel(), pa.float32()), dim, mask=pa.array(mask)
        )

    return embed


def register_semantic_functions(
    con: duckdb.DuckDBPyConnection, *, embedder: Embedder | None = None
) -> EmbeddingInfo | None:
    """Register ``embed(text) -> FLOAT[d]`` on ``con``, a connection to a catalog.

    Call it before anything restricts the connection, on a connection of its own database
    instance (:func:`connect_catalog` makes one): DuckDB shares the instance of a file between
    the connections of a process, and the function must not outlive ``con`` there. The
    embedder is the one the catalog records (``v_embedding_model``), loaded on the first call;
    ``embed`` of a NULL is NULL. Calling ``embed`` on a catalog whose corpus cannot embed text
    (precomputed vectors, no recorded embedder) fails that query with the reason and the fix.

    :param embedder: use this embedder instead of the recorded one (tests, custom models); its
        ``dim`` must be the catalog's width.
    :returns: the recorded embedding metadata (None when the catalog records none).
    """
    import duckdb

    failure: ConfigError | None = None
    try:
        info = catalog_embedding(con)
    except ConfigError as exc:  # said when embed() is called; other queries are not affected
        info, failure = None, exc
    dim = embedder.dim if embedder is not None else _embedding_width(con, info)
    lazy = _LazyEmbedder(info, embedder, failure)
    con.create_function(
        EMBED_FUNCTION,
        _embed_batch(lazy, dim),
        [duckdb.sqltypes.VARCHAR],
        f"FLOAT[{dim}]",
        type="arrow",
        side_effects=False,
    )
    return info


def connect_catalog(path: Path) -> duckdb.DuckDBPyConnection:
    """A private DuckDB connection with the catalog at ``path`` attached read-only as the
    default database ``codeintel`` and ``embed(text)`` registered.

    It is :func:`python_ext.catalog.query.open_locked_connection` with
    :func:`register_semantic_functions` as its prepare hook: external access is disabled and the
    configuration locked once ``embed`` is registered.

    :raises CatalogError: when ``path`` is not a DuckDB database.
    """
    from python_ext.catalog.query import open_locked_connection

    return open_locked_connection(path, register_semantic_functions)


def open_catalog(
    data_root: DataRootLike = None, *, db_path: str | os.PathLike[str] | None = None
) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection to the catalog with ``embed(text)`` registered.

    For notebooks and scripts that want DuckDB's own API (``.df()``, ``.arrow()``, relations);
    the catalog is attached read-only (DuckDB refuses every write to it) on a private instance
    with external access disabled and its configuration locked (no ``copy … to``, ``read_csv``,
    ``attach`` or ``install``: export with ``.df()``/``.arrow()``); the caller closes it.

    :param data_root: data root whose ``db/codeintel.duckdb`` to open (None: as everywhere).
    :param db_path: catalog file; overrides ``data_root`` (default ``$CODEINTEL_DB_PATH``).
    :raises CatalogError: when there is no catalog file.
    """
    path = Path(db_path).expanduser().resolve() if db_path else resolve_data_root(data_root).db_path
    if not path.is_file():
        raise CatalogError(f"no catalog at {path}", hint="build it with `indexctl catalog refresh`")
    return connect_catalog(path)
