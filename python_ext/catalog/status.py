"""Does the catalog still match its data root? (``indexctl catalog status``)

Every build records its provenance in the catalog itself (models ``catalog_build`` and
``catalog_inputs``, written by plain ``dbt build`` as much as by ``indexctl catalog refresh``):
when it was built, which index version ``faiss/CURRENT`` named, and every file each source read
(path relative to the data root, size, modification time to the microsecond). A status check
lists the same source patterns in the data root now — with the version ``CURRENT`` names now —
and compares:

* the published version (``faiss/CURRENT`` now) against the one the catalog describes;
* every input file: added, removed, or changed (size or modification time);

and reports the row count of every mart and the last evaluation run. The catalog is **stale**
when anything differs, when it has no provenance (built before this existed), or when there is
no catalog at all. :func:`catalog_staleness` is the cheap part alone (no row counts), used by
``indexctl search`` before it trusts the catalog for hydration.

Readers never take the data root's writer lock; the catalog is opened read-only on a private
DuckDB instance (:func:`python_ext.catalog.query.open_locked_connection`).
"""

from __future__ import annotations

import datetime as dt
import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.errors import CatalogError, CurrentInvalidError
from python_ext.index import versions

#: Placeholder the index sources' paths carry for the published version (macro source_path).
VERSION_PLACEHOLDER = "{published_version}"


@dataclass
class InputChange:
    """One input file that differs between the catalog and the data root now.

    :param source: the dbt source (``ingest.chunks`` …).
    :param path: the file, relative to the data root.
    :param change: ``added`` (new since the build), ``removed`` or ``changed`` (size/mtime).
    """

    source: str
    path: str
    change: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "path": self.path, "change": self.change}


@dataclass
class CatalogStatus:
    """What ``indexctl catalog status`` reports.

    :param db_path: the catalog file.
    :param data_root: the data root it was compared with.
    :param exists: whether the catalog file exists.
    :param stale: True when the catalog does not describe the data root as it is now.
    :param reasons: why it is stale, one sentence each (empty when fresh).
    :param built_at: when the catalog was built (None: unknown).
    :param built_from: the data root the build read (as dbt saw it).
    :param catalog_version: the index version the catalog describes.
    :param published_version: the version ``faiss/CURRENT`` names now (None: nothing published).
    :param inputs_recorded: input files the build read.
    :param changes: input files added, removed or changed since.
    :param last_eval_run: the newest run in the catalog (run_id, started_at, channels' recall).
    :param row_counts: rows of every mart (schema ``main``), by name.
    """

    db_path: Path
    data_root: Path
    exists: bool
    stale: bool
    reasons: list[str] = field(default_factory=list)
    built_at: dt.datetime | None = None
    built_from: str | None = None
    catalog_version: str | None = None
    published_version: str | None = None
    inputs_recorded: int = 0
    changes: list[InputChange] = field(default_factory=list)
    last_eval_run: dict[str, Any] | None = None
    row_counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "db_path": str(self.db_path),
            "data_root": str(self.data_root),
            "exists": self.exists,
            "stale": self.stale,
            "reasons": self.reasons,
            "built_at": self.built_at.isoformat() if self.built_at else None,
            "built_from": self.built_from,
            "catalog_version": self.catalog_version,
            "published_version": self.published_version,
            "inputs_recorded": self.inputs_recorded,
            "changes": [c.to_dict() for c in self.changes],
            "last_eval_run": self.last_eval_run,
            "row_counts": self.row_counts,
        }


def catalog_status(
    data_root: DataRootLike = None,
    *,
    db_path: str | os.PathLike[str] | None = None,
    row_counts: bool = True,
    sources: Sequence[str] | None = None,
) -> CatalogStatus:
    """Compare the catalog with the data root now (see the module docstring).

    :param data_root: the data root (default ``$CODEINTEL_DATA_ROOT`` or ``data``).
    :param db_path: the catalog file (default ``$CODEINTEL_DB_PATH`` or ``<data root>/db/codeintel.duckdb``).
    :param row_counts: also count the rows of every mart and read the last evaluation run.
    :param sources: compare only these sources' files (e.g. ``["ingest.chunks"]``; default all);
        the published version is always compared.
    :raises CatalogError: the file exists but is not a DuckDB database.
    """
    import duckdb

    root = resolve_data_root(data_root)
    path = Path(db_path).expanduser().resolve() if db_path else root.db_path
    status = CatalogStatus(db_path=path, data_root=root.root, exists=path.is_file(), stale=False)
    try:
        status.published_version = versions.published_version(root)
    except CurrentInvalidError as exc:
        status.reasons.append(f"faiss/CURRENT is invalid: {exc.message}")
    if not status.exists:
        status.reasons.insert(0, f"there is no catalog at {path}")
        status.stale = True
        return status

    from python_ext.catalog.query import open_locked_connection

    con = open_locked_connection(path)
    try:
        tables = {
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() where database_name = current_database()"
            ).fetchall()
        }
        if not {"catalog_build", "catalog_inputs"} <= tables:
            status.reasons.append(
                "the catalog records no provenance (catalog_build/catalog_inputs are missing: it was built "
                "by an older version)"
            )
        else:
            _compare(con, root, status, sources)
        if row_counts:
            status.row_counts = _row_counts(con)
            status.last_eval_run = _last_run(con)
    except duckdb.Error as exc:
        raise CatalogError(
            f"{path}: cannot read the catalog: {exc}".strip(),
            hint="rebuild it with `indexctl catalog refresh`",
        ) from exc
    finally:
        con.close()
    status.stale = bool(status.reasons)
    return status


def catalog_staleness(
    data_root: DataRootLike = None,
    *,
    db_path: str | os.PathLike[str] | None = None,
    sources: Sequence[str] | None = None,
) -> list[str]:
    """Why the catalog does not match the data root now (empty list: it matches). Cheap: no row
    counts; never raises for a missing or unreadable catalog (that is a reason too).

    :param sources: compare only these sources' files (see :func:`catalog_status`)."""
    try:
        return catalog_status(data_root, db_path=db_path, row_counts=False, sources=sources).reasons
    except CatalogError as exc:
        return [exc.message]


def _compare(con: Any, root: DataRoot, status: CatalogStatus, sources: Sequence[str] | None) -> None:
    build = con.execute(
        "select built_at, published_version, data_root from catalog_build order by built_at desc limit 1"
    ).fetchone()
    if build is None:
        status.reasons.append("the catalog's catalog_build table is empty")
        return
    status.built_at, status.catalog_version, status.built_from = build
    if status.catalog_version != status.published_version:
        status.reasons.append(
            f"the catalog describes index version {status.catalog_version or '(none)'} but faiss/CURRENT "
            f"names {status.published_version or '(none)'}"
        )
    recorded: dict[tuple[str, str], tuple[int, dt.datetime]] = {}
    patterns: dict[str, str] = {}
    for source, pattern, rel, size, mtime in con.execute(
        "select source_name, path_pattern, relative_path, size_bytes, modified_at from catalog_inputs"
    ).fetchall():
        if sources is not None and source not in sources:
            continue
        patterns[source] = pattern
        if rel is not None:
            recorded[(source, rel)] = (int(size), mtime)
    status.inputs_recorded = len(recorded)
    now = _list_inputs(root, patterns, status.published_version)
    for key in sorted(set(recorded) | set(now)):
        source, rel = key
        if key not in now:
            status.changes.append(InputChange(source, rel, "removed"))
        elif key not in recorded:
            status.changes.append(InputChange(source, rel, "added"))
        elif not _same(recorded[key], now[key]):
            status.changes.append(InputChange(source, rel, "changed"))
    if status.changes:
        shown = ", ".join(f"{c.path} ({c.change})" for c in status.changes[:5])
        more = f" and {len(status.changes) - 5} more" if len(status.changes) > 5 else ""
        status.reasons.append(f"{len(status.changes)} input file(s) changed since the build: {shown}{more}")


def _same(recorded: tuple[int, dt.datetime], now: tuple[int, int]) -> bool:
    size, mtime = recorded
    now_size, now_ns = now
    if size != now_size:
        return False
    if mtime.tzinfo is None:
        mtime = mtime.replace(tzinfo=dt.UTC)
    recorded_us = round(mtime.timestamp() * 1_000_000)
    return abs(recorded_us - now_ns // 1000) <= 1


def _list_inputs(
    root: DataRoot, patterns: dict[str, str], version: str | None
) -> dict[tuple[str, str], tuple[int, int]]:
    """(source, relative path) -> (size, mtime in ns) of every file the patterns match now."""
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for source, pattern in patterns.items():
        if VERSION_PLACEHOLDER in pattern:
            if version is None:
                continue
            pattern = pattern.replace(VERSION_PLACEHOLDER, version)
        full = pattern if os.path.isabs(pattern) else os.path.join(glob.escape(str(root.root)), pattern)
        for name in glob.glob(full, include_hidden=True):
            try:
                st = os.stat(name)
            except OSError:
                continue
            if not os.path.isfile(name):
                continue
            rel = os.path.relpath(name, root.root) if not os.path.isabs(pattern) else name
            out[(source, Path(rel).as_posix())] = (st.st_size, st.st_mtime_ns)
    return out


def _row_counts(con: Any) -> dict[str, int]:
    names = [
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'main' union select view_name from duckdb_views() "
            "where database_name = current_database() and schema_name = 'main' and not internal order by 1"
        ).fetchall()
    ]
    counts = {}
    for name in names:
        quoted = '"' + name.replace('"', '""') + '"'
        counts[name] = int(con.execute(f"select count(*) from main.{quoted}").fetchone()[0])
    return counts


def _last_run(con: Any) -> dict[str, Any] | None:
    import duckdb

    try:
        rows = con.execute(
            "select run_id, started_at, index_version, k, count_queries, channel, recall_at_k "
            "from v_eval_metrics_by_run "
            "where run_sequence = (select max(run_sequence) from v_eval_metrics_by_run) order by channel"
        ).fetchall()
    except duckdb.Error:  # a catalog without the eval marts has no run to show
        return None
    if not rows:
        return None
    run_id, started_at, index_version, k, n_queries = rows[0][:5]
    return {
        "run_id": run_id,
        "started_at": started_at.isoformat() if started_at else None,
        "index_version": index_version,
        "k": k,
        "n_queries": n_queries,
        "recall_at_k": {r[5]: r[6] for r in rows},
    }
