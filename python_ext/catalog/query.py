"""Ad-hoc read-only SQL over the catalog, with the same DuckDB that built it.

Analysts can use any DuckDB client that reads the catalog's storage version; this function (and
``indexctl catalog query``) is the one that always matches, because it is the DuckDB the catalog
was built with. The connection is read-only, so a query can never modify the catalog, and it is
safe while ``indexctl catalog refresh`` swaps in a new file (the old file stays readable).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_ext.config import DataRootLike, resolve_data_root
from python_ext.errors import CatalogError, InputError


@dataclass
class QueryResult:
    """Column names and rows of one query (rows as tuples, at most ``max_rows``)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _open_connection(path: Path) -> Any:
    """The connection the statement runs on, prepared before it runs (and before anything
    restricts it): a private DuckDB with the catalog attached read-only and ``embed(text)``
    registered (:func:`python_ext.catalog.semantic.connect_catalog`)."""
    from python_ext.catalog.semantic import connect_catalog

    return connect_catalog(path)


def query_catalog(
    data_root: DataRootLike,
    sql: str,
    *,
    db_path: str | os.PathLike[str] | None = None,
    params: Sequence[Any] | None = None,
    max_rows: int | None = 1000,
) -> QueryResult:
    """Run one read-only SQL statement against the catalog and return its rows.

    :param data_root: data root whose ``db/codeintel.duckdb`` to open (None: as everywhere).
    :param sql: the statement (``select …``, ``describe v_chunks``, ``show tables``…); values
        that come from users belong in ``params`` as ``?`` parameters, never formatted in.
        ``embed(text)`` is available: the corpus's embedder as a SQL function (semantic SQL,
        docs/catalog.md#catalog-semantic-sql).
    :param db_path: catalog file; overrides ``data_root`` (default ``$CODEINTEL_DB_PATH``).
    :param params: positional parameters bound to ``?`` parameters.
    :param max_rows: keep at most this many rows (``None``: all); ``truncated`` says if cut.
    :raises CatalogError: when there is no catalog file.
    :raises InputError: when DuckDB rejects the statement (the message is DuckDB's).
    """
    import duckdb

    path = Path(db_path).expanduser().resolve() if db_path else resolve_data_root(data_root).db_path
    if not path.is_file():
        raise CatalogError(f"no catalog at {path}", hint="build it with `indexctl catalog refresh`")
    con = _open_connection(path)
    try:
        cursor = con.execute(sql, list(params) if params else None)
        if cursor.description is None:
            return QueryResult(columns=[], rows=[])
        columns = [d[0] for d in cursor.description]
        if max_rows is None:
            rows = cursor.fetchall()
            return QueryResult(columns=columns, rows=rows)
        rows = cursor.fetchmany(max_rows + 1)
        return QueryResult(columns=columns, rows=rows[:max_rows], truncated=len(rows) > max_rows)
    except duckdb.Error as exc:
        raise InputError(
            f"query failed on {path}: {exc}".strip(),
            hint="the catalog is opened read-only; list the marts with "
            '`indexctl catalog query "show tables"`',
        ) from exc
    finally:
        con.close()
