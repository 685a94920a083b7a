"""Ad-hoc read-only SQL over the catalog, with the same DuckDB that built it.

Analysts can use any DuckDB client that reads the catalog's storage version; this function (and
``indexctl catalog query``) is the one that always matches, because it is the DuckDB the catalog
was built with. "Read-only" is enforced, not documented:

* **exactly one statement** per call, and only of a reading kind: ``select`` (which covers
  ``with …``, ``from …``, ``values``, ``describe``, ``show``, ``summarize``), ``explain`` of such a
  statement (``explain analyze`` too: it runs the statement, which is itself read-only), and
  ``pragma`` of the reading pragmas in :data:`READ_PRAGMAS` (``pragma table_info('v_chunks')``,
  ``pragma version``…). Everything else — ``copy``, ``export``, ``attach``, ``install``/``load``,
  ``set``/``reset``, ``create``/``insert``/``delete``, ``call``, transactions, and two statements
  in one string — is refused before it runs (:class:`~python_ext.errors.QueryRefusedError`, exit 2);
* the statement runs on a **private DuckDB instance** (an in-memory database with the catalog
  attached read-only and made the default), with external access disabled
  (``enable_external_access = false``: no ``read_csv``/``read_text``/``glob`` of files, no
  ``copy … to``, no ``attach``, no extension install), extension auto-loading and auto-install
  off, unsigned extensions refused, and its configuration locked (``lock_configuration``) before
  the statement runs, so no statement can switch any of this back.

A private instance is used (not ``duckdb.connect(catalog, read_only=True)``) because DuckDB lets
one process open a file only once per configuration: the hydration cache
(:mod:`python_ext.catalog.hydrate`) keeps its own read-only connection to the same file.
It is safe while ``indexctl catalog refresh`` swaps in a new file (the old file stays readable).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from python_ext.config import DataRootLike, resolve_data_root
from python_ext.errors import CatalogError, InputError, QueryRefusedError

if TYPE_CHECKING:
    import duckdb

#: Pragmas that only read (anything else, e.g. ``pragma threads = 4``, is refused).
READ_PRAGMAS = frozenset(
    {
        "version",
        "platform",
        "user_agent",
        "table_info",
        "show",
        "show_tables",
        "show_tables_expanded",
        "show_databases",
        "database_list",
        "database_size",
        "storage_info",
        "metadata_info",
        "functions",
        "collations",
    }
)

#: DuckDB settings of the private instance, fixed at creation (see the module docstring).
LOCKED_DOWN_CONFIG = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_community_extensions": False,
}

#: Name the catalog file is attached under (``codeintel.main.v_chunks``), whatever its file name.
CATALOG_ALIAS = "codeintel"

_REFUSED_HINT = (
    "`indexctl catalog query` runs exactly one read-only statement: select / with / from / describe / "
    "show / summarize / explain, or a reading pragma; to export results use --json or --nl and "
    "redirect the output"
)
_PRAGMA_NAME = re.compile(r"^\s*pragma\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_EXPLAIN_PREFIX = re.compile(r"^\s*explain\s+(analy[sz]e\s+)?", re.IGNORECASE)


@dataclass
class QueryResult:
    """Column names and rows of one query (rows as tuples, at most ``max_rows``)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        """``columns``, ``rows`` (as records) and ``truncated``."""
        return {"columns": self.columns, "rows": self.records(), "truncated": self.truncated}


def check_read_only_sql(sql: str) -> str:
    """Refuse anything but exactly one statement of a reading kind; return it stripped.

    :raises QueryRefusedError: empty SQL, more than one statement, or a statement that is not a
        ``select``/``explain``/reading ``pragma`` (the message names its kind).
    :raises InputError: DuckDB cannot parse the SQL (its own message).
    """
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise InputError(f"query does not parse: {exc}".strip(), hint=_REFUSED_HINT) from exc
    if not statements:
        raise QueryRefusedError("the query is empty", hint='e.g. indexctl catalog query "show tables"')
    if len(statements) > 1:
        raise QueryRefusedError(
            f"the query holds {len(statements)} statements; exactly one is run per call",
            hint=_REFUSED_HINT,
        )
    _check_statement(statements[0])
    return sql.strip()


def _check_statement(statement: duckdb.Statement) -> None:
    import duckdb

    kind = statement.type
    text = statement.query
    if kind == duckdb.StatementType.SELECT:
        return
    if kind == duckdb.StatementType.EXPLAIN:
        inner = duckdb.extract_statements(_EXPLAIN_PREFIX.sub("", text, count=1))
        if len(inner) != 1 or inner[0].type == duckdb.StatementType.EXPLAIN:
            raise QueryRefusedError("explain must wrap exactly one statement", hint=_REFUSED_HINT)
        _check_statement(inner[0])
        return
    match = _PRAGMA_NAME.match(text)
    if kind == duckdb.StatementType.PRAGMA or match:
        name = match.group(1).lower() if match else "?"
        if kind == duckdb.StatementType.PRAGMA and name in READ_PRAGMAS and "=" not in text:
            return
        raise QueryRefusedError(
            f"pragma {name} is refused: only reading pragmas run ({', '.join(sorted(READ_PRAGMAS))})",
            hint=_REFUSED_HINT,
        )
    words = text.split()
    label = words[0].lower() if words else str(kind).rsplit(".", 1)[-1].lower()
    raise QueryRefusedError(
        f"{label} statements are refused: the catalog query is read-only", hint=_REFUSED_HINT
    )


def open_locked_connection(
    path: Path, prepare: Callable[[duckdb.DuckDBPyConnection], object] | None = None
) -> duckdb.DuckDBPyConnection:
    """A private DuckDB connection with the catalog at ``path`` attached read-only as the default
    database :data:`CATALOG_ALIAS` (``codeintel``), whatever the file is called.

    The one way this package opens the catalog for SQL it did not write: ``indexctl catalog
    query``, :func:`query_catalog`, :func:`python_ext.catalog.semantic.open_catalog` and
    ``indexctl catalog status``.

    External access is disabled and the configuration locked *after* ``prepare`` ran, so
    ``prepare`` may register Python functions (``con.create_function``) or load what it needs.

    :raises CatalogError: the file cannot be opened as a DuckDB database.
    """
    import duckdb

    con = duckdb.connect(":memory:", config=dict(LOCKED_DOWN_CONFIG))
    try:
        try:
            con.execute(f"attach ? as {CATALOG_ALIAS} (read_only)", [str(path)])
        except duckdb.Error as exc:
            raise CatalogError(
                f"{path} cannot be opened as a DuckDB catalog: {exc}".strip(),
                hint="rebuild it with `indexctl catalog refresh`",
            ) from exc
        con.execute(f"use {CATALOG_ALIAS}")
        if prepare is not None:
            prepare(con)
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _with_semantic_functions(
    prepare: Callable[[duckdb.DuckDBPyConnection], object] | None,
) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """The prepare hook of the query connection: ``embed(text)`` and then the caller's hook (which
    may replace ``embed`` with a function of its own)."""

    def prepare_connection(con: duckdb.DuckDBPyConnection) -> None:
        from python_ext.catalog.semantic import register_semantic_functions

        register_semantic_functions(con)
        if prepare is not None:
            prepare(con)

    return prepare_connection


def query_catalog(
    data_root: DataRootLike,
    sql: str,
    *,
    db_path: str | os.PathLike[str] | None = None,
    params: Sequence[Any] | None = None,
    max_rows: int | None = 1000,
    prepare: Callable[[duckdb.DuckDBPyConnection], object] | None = None,
) -> QueryResult:
    """Run one read-only SQL statement against the catalog and return its rows.

    :param data_root: data root whose ``db/codeintel.duckdb`` to open (None: as everywhere).
    :param sql: exactly one statement of a reading kind (``select …``, ``describe v_chunks``,
        ``show tables``, ``explain …``, ``pragma table_info('v_chunks')``); values that come from
        users belong in ``params`` as ``?`` parameters, never formatted in. ``embed(text)`` is
        available: the corpus's embedder as a SQL function (semantic SQL,
        docs/catalog.md#catalog-semantic-sql).
    :param db_path: catalog file; overrides ``data_root`` (default ``$CODEINTEL_DB_PATH``).
    :param params: positional parameters bound to ``?`` parameters.
    :param max_rows: keep at most this many rows (``None``: all); ``truncated`` says if cut.
    :param prepare: called with the connection before external access is disabled and the
        configuration locked: the place to register Python UDFs (``con.create_function``, e.g.
        an ``embed(text)`` function) that the statement may call. It is not a way around the
        lock-down: whatever it registers runs with the caller's privileges, so pass only code
        you trust.
    :raises CatalogError: when there is no catalog file (or it is not a DuckDB database).
    :raises QueryRefusedError: the SQL is not exactly one read-only statement (exit 2).
    :raises InputError: when DuckDB rejects the statement (the message is DuckDB's).
    """
    import duckdb

    path = Path(db_path).expanduser().resolve() if db_path else resolve_data_root(data_root).db_path
    if not path.is_file():
        raise CatalogError(f"no catalog at {path}", hint="build it with `indexctl catalog refresh`")
    if max_rows is not None and max_rows < 1:
        raise QueryRefusedError(f"max_rows must be at least 1 (got {max_rows})", hint="use --max-rows 1000")
    statement = check_read_only_sql(sql)
    con = open_locked_connection(path, _with_semantic_functions(prepare))
    try:
        cursor = con.execute(statement, list(params) if params else None)
        if cursor.description is None:
            return QueryResult(columns=[], rows=[])
        columns = [d[0] for d in cursor.description]
        if max_rows is None:
            rows = cursor.fetchall()
            return QueryResult(columns=columns, rows=rows)
        rows = cursor.fetchmany(max_rows + 1)
        return QueryResult(columns=columns, rows=rows[:max_rows], truncated=len(rows) > max_rows)
    except duckdb.PermissionException as exc:
        raise QueryRefusedError(
            f"query refused on {path}: {exc}".strip(),
            hint="the catalog query cannot read or write files, attach databases or load extensions; "
            "it reads the catalog's own tables and views only",
        ) from exc
    except duckdb.Error as exc:
        raise InputError(
            f"query failed on {path}: {exc}".strip(),
            hint="the catalog is opened read-only; list the marts with "
            '`indexctl catalog query "show tables"`',
        ) from exc
    finally:
        con.close()
