"""Atomic catalog refresh: ``dbt build`` into a new database file, swapped in only on success.

Readers (analysts, ``indexctl search`` hydration) keep the catalog file open while it is
refreshed. :func:`refresh_catalog` therefore never writes the live file:

1. a private build directory is made next to the catalog (same file system, so the final
   rename is atomic), holding a file with the catalog's own name;
2. the new file starts empty except for ``faiss_idmap_mat``, carried over from the current
   catalog (bulk copy of its rows, checksum column and indexes), so the model finds its
   previous table and checksum and is a no-op when the published id map is unchanged; every
   other table is rebuilt, so the file never accumulates free blocks;
3. ``dbt build`` runs against that copy; the result is checkpointed (no WAL left behind);
4. only when every model and test passed, ``os.replace`` puts it at the catalog path. A reader
   holding the old file keeps reading the old, consistent catalog until it reopens.

A failed build leaves the live catalog untouched; the failed database is kept in
``<db dir>/failed/`` with the offending rows in its ``audit`` schema.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_ext.catalog.dbt_runner import (
    NOOP_MARKER,
    DbtRunResult,
    attach_failing_rows,
    describe_failures,
    run_dbt,
)
from python_ext.catalog.hydrate import BASE_COLUMNS
from python_ext.catalog.hydration_index import write_hydration_index
from python_ext.config import DataRootLike, resolve_data_root
from python_ext.errors import CatalogError, CheckFailedError, ConfigError
from python_ext.index import versions
from python_ext.lock import process_alive, writes_data_root
from python_ext.progress import NULL_PROGRESS, Reporter


@dataclass
class RefreshResult:
    """What a refresh (or a catalog test) did."""

    db_path: Path
    data_root: Path
    seconds: float
    models: int
    tests_passed: int
    tests_failed: int
    warnings: int
    faiss_idmap_mat: str
    swapped: bool
    warned_tests: list[str] = field(default_factory=list)
    slowest: list[tuple[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "db_path": str(self.db_path),
            "data_root": str(self.data_root),
            "seconds": round(self.seconds, 3),
            "models": self.models,
            "tests_passed": self.tests_passed,
            "tests_failed": self.tests_failed,
            "warnings": self.warnings,
            "faiss_idmap_mat": self.faiss_idmap_mat,
            "swapped": self.swapped,
            "warned_tests": self.warned_tests,
            "slowest": [f"{name} {seconds:.2f}s" for name, seconds in self.slowest],
        }


def _idmap_status(run: DbtRunResult) -> str:
    for line in run.log.splitlines():
        if "faiss_idmap_mat:" in line:
            return "unchanged" if NOOP_MARKER in line else "rebuilt"
    return "not run"


def _checkpoint(db_path: Path) -> None:
    """Fold any write-ahead log into the file so it can be moved on its own."""
    import duckdb

    con = duckdb.connect(str(db_path))
    try:
        con.execute("checkpoint")
    finally:
        con.close()


def _settle_live_catalog(db_path: Path) -> None:
    """Make sure the live catalog has no pending WAL before it is copied or replaced.

    A ``.wal`` next to the catalog means a writer (plain ``dbt build``) is running or crashed;
    replacing the file would let that WAL be replayed onto the new one.
    """
    wal = Path(str(db_path) + ".wal")
    if not wal.exists():
        return
    import duckdb

    try:
        _checkpoint(db_path)
    except duckdb.Error as exc:
        raise CatalogError(
            f"{db_path} is being written by another process ({wal.name} present): {exc}",
            hint="wait for the running `dbt build` to finish, then run `indexctl catalog refresh` again",
        ) from exc


BUILD_DIR_PREFIX = ".refresh-"
_OWNER_FILE = ".owner-pid"
#: A build folder without an owner file older than this is a leftover (seconds).
_ORPHAN_AGE_S = 600.0


def _new_build_dir(db_path: Path) -> Path:
    """A private build folder next to the catalog, stamped with this process's pid.

    Folders left by killed refreshes (their owner is gone) are removed first, so kills never
    pile up copies of the catalog in ``db/``.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_build_dirs(db_path)
    path = Path(tempfile.mkdtemp(prefix=BUILD_DIR_PREFIX, dir=db_path.parent))
    (path / _OWNER_FILE).write_text(str(os.getpid()))
    return path


def remove_stale_build_dirs(db_path: str | os.PathLike[str]) -> list[Path]:
    """Delete ``<db dir>/.refresh-*`` folders whose owner process no longer runs.

    A folder whose owner file is missing counts as stale once it is older than ten minutes
    (a live build writes its owner file right after creating the folder).

    :returns: the folders removed.
    """
    parent = Path(db_path).parent
    removed = []
    if not parent.is_dir():
        return removed
    for path in parent.glob(f"{BUILD_DIR_PREFIX}*"):
        if not path.is_dir() or path.is_symlink():
            continue
        try:
            pid = int((path / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            try:
                stale = time.time() - path.stat().st_mtime > _ORPHAN_AGE_S
            except OSError:
                continue
        else:
            stale = not process_alive(pid)
        if stale:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@writes_data_root("catalog refresh")
def refresh_catalog(
    data_root: DataRootLike = None,
    *,
    db_path: str | os.PathLike[str] | None = None,
    full_refresh: bool = False,
    extra_vars: dict[str, Any] | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> RefreshResult:
    """Rebuild the catalog with ``dbt build`` and swap it in atomically on success.

    :param data_root: data root to read (default: ``$CODEINTEL_DATA_ROOT`` or ``data``).
    :param db_path: catalog file (default: the data root's ``db/codeintel.duckdb`` or
        ``$CODEINTEL_DB_PATH``).
    :param full_refresh: start from an empty database instead of a copy of the current
        catalog (``faiss_idmap_mat`` is then always rebuilt).
    :param extra_vars: dbt vars (``rrf_k0``, ``rrf_rank_cutoff``, ``idmap_min_coverage``...).
    :param progress: progress reporter.
    :raises CatalogError: when the build fails (the live catalog is left untouched; the
        message names each failing model/test and the offending keys).
    """
    root = resolve_data_root(data_root)
    target = Path(db_path).expanduser().resolve() if db_path else root.db_path
    if not root.chunks_dir.is_dir() or not any(root.chunks_dir.glob("*.parquet")):
        raise CatalogError(
            f"no chunks Parquet under {root.chunks_dir}",
            hint="run `indexctl ingest REPO --out DATA_ROOT` first, or pass --data-root",
        )
    dbt_vars = check_dbt_vars(extra_vars)
    # CURRENT is the single source of truth: read (and checked) once, pinned for every model
    published = versions.published_version(root)
    if published is not None:
        dbt_vars["published_version"] = published
    start = time.perf_counter()
    build_dir = _new_build_dir(target)
    staged = build_dir / target.name
    try:
        with progress.task("catalog: dbt build", total=None):
            carried = False
            if target.exists() and not full_refresh:
                _settle_live_catalog(target)
                carried = _carry_over_idmap_mat(target, staged)
            if carried:
                progress.log("catalog: faiss_idmap_mat carried over from the current catalog")
            run = run_dbt(
                ["build"],
                data_root=root.root,
                db_path=staged,
                extra_vars=dbt_vars,
                threads=FRESH_BUILD_THREADS,
            )
        if not run.ok:
            attach_failing_rows(run, staged)
            kept = _keep_failed(build_dir, target)
            raise CatalogError(
                f"dbt build failed; the catalog at {target} was not replaced:\n{describe_failures(run)}",
                hint=f"fix the inputs named above; the failed build is kept in {kept} "
                "(offending rows in its audit schema)",
            )
        _checkpoint(staged)
        # the hydration sidecar is stamped with the staged file's identity, which the rename
        # keeps; it goes in first, so until the swap it matches no catalog and is not used
        with progress.task("catalog: hydration index", total=None):
            write_hydration_index(staged, BASE_COLUMNS, published_as=target)
        _settle_live_catalog(target)
        os.replace(staged, target)
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    return RefreshResult(
        db_path=target,
        data_root=root.root,
        seconds=time.perf_counter() - start,
        models=run.count("model", "success"),
        tests_passed=run.count("test", "pass") + run.count("unit_test", "pass"),
        tests_failed=0,
        warnings=run.count("test", "warn"),
        faiss_idmap_mat=_idmap_status(run),
        swapped=True,
        warned_tests=[n.name for n in run.nodes if n.status == "warn"],
        slowest=run.slowest(),
    )


#: dbt threads of a refresh (and of ``catalog test``). The profile runs one thread because two
#: threads rebuilding tables *in place* race in DuckDB (see profiles/profiles.yml); a refresh
#: builds into a new file where no table but the carried ``faiss_idmap_mat`` exists, so no two
#: threads swap indexed tables, and tests only create views: two threads are safe and overlap
#: dbt's per-node overhead.
FRESH_BUILD_THREADS = 2

#: dbt vars a caller may set: name -> (kind, minimum, maximum) (see dbt_project.yml).
DBT_VARS: dict[str, tuple[type, float | None, float | None]] = {
    "rrf_k0": (int, 0, None),
    "rrf_rank_cutoff": (int, 1, None),
    "idmap_min_coverage": (float, 0.0, 1.0),
    "eval_regression_tolerance": (float, 0.0, None),
    "embedding_dim_default": (int, 1, None),
}


def check_dbt_vars(extra_vars: dict[str, Any] | None) -> dict[str, Any]:
    """Check dbt vars by name, type and range before dbt runs; return them typed.

    ``data_root`` and ``published_version`` are set by the refresh itself; ``test_severity``
    no longer exists (integrity tests are always errors).

    :raises ConfigError: an unknown name, or a value of the wrong type or out of range (exit 2).
    """
    out: dict[str, Any] = {}
    for name, raw in (extra_vars or {}).items():
        if name not in DBT_VARS:
            raise ConfigError(
                f"unknown dbt var {name!r}",
                hint=f"known vars: {', '.join(sorted(DBT_VARS))} (the data root is --data-root; integrity "
                "tests cannot be lowered to warnings)",
            )
        kind, low, high = DBT_VARS[name]
        value: Any
        try:
            if isinstance(raw, bool):
                raise ValueError
            value = kind(str(raw).strip()) if kind is int else float(raw)
            if not math.isfinite(value):
                raise ValueError
        except ValueError:
            raise ConfigError(
                f"dbt var {name} must be {'an integer' if kind is int else 'a number'}, got {raw!r}",
                hint=f"e.g. --var {name}={int(low or 1) if kind is int else 0.5}",
            ) from None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = " and ".join(
                part
                for part in (f">= {low}" if low is not None else "", f"<= {high}" if high is not None else "")
                if part
            )
            raise ConfigError(f"dbt var {name} must be {bounds}, got {raw!r}", hint=f"fix --var {name}")
        out[name] = value
    return out


#: DuckDB settings fixed when a catalog file is created; must equal ``config_options`` in
#: ``profiles/profiles.yml`` (tests check). ``storage_compatibility_version`` keeps the file
#: readable by DuckDB 1.4 LTS and 1.5 clients (the ``duckdb`` CLI on PyPI), not only by 2.x.
CATALOG_DUCKDB_CONFIG = {"storage_compatibility_version": "v1.4.0"}

#: Tables carried from the current catalog into a refresh (schema, name, indexed columns).
CARRIED_TABLES = (("main", "faiss_idmap_mat", ("chunk_id", "faiss_id")),)


def _carry_over_idmap_mat(current: Path, staged: Path) -> bool:
    """Copy ``faiss_idmap_mat`` (rows, checksum, indexes) from ``current`` into ``staged``.

    Returns False (and copies nothing) when the current catalog cannot be read or has no such
    table; the model is then simply rebuilt.
    """
    import duckdb

    con = duckdb.connect(str(staged), config=CATALOG_DUCKDB_CONFIG)
    try:
        try:
            con.execute("attach ? as previous (read_only)", [str(current)])
        except duckdb.Error:
            return False
        carried = False
        for schema, table, indexed in CARRIED_TABLES:
            found = con.execute(
                "select comment from duckdb_tables() where database_name = 'previous' "
                "and schema_name = ? and table_name = ?",
                [schema, table],
            ).fetchall()
            if not found:
                continue
            con.execute(f'create schema if not exists "{schema}"')
            con.execute(f'create table "{schema}"."{table}" as select * from previous."{schema}"."{table}"')
            for column in indexed:
                con.execute(f'create index "{table}__{column}" on "{schema}"."{table}" ("{column}")')
            if found[0][0]:
                comment = str(found[0][0]).replace("'", "''")
                con.execute(f'comment on table "{schema}"."{table}" is \'{comment}\'')
            carried = True
        con.execute("detach previous")
        con.execute("checkpoint")
        return carried
    finally:
        con.close()


def _keep_failed(build_dir: Path, target: Path) -> Path:
    failed_dir = target.parent / "failed"
    failed_dir.mkdir(exist_ok=True)
    dest = failed_dir / target.name
    src = build_dir / target.name
    if src.exists():
        os.replace(src, dest)
        wal = Path(str(src) + ".wal")
        if wal.exists():
            os.replace(wal, Path(str(dest) + ".wal"))
    return dest


def check_catalog(
    data_root: DataRootLike = None,
    *,
    db_path: str | os.PathLike[str] | None = None,
    extra_vars: dict[str, Any] | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> RefreshResult:
    """Run every dbt data test and unit test against a throw-away copy of the catalog.

    The live catalog is never written (readers may hold it open); the copy is deleted after.

    :param data_root: data root (default: ``$CODEINTEL_DATA_ROOT`` or ``data``).
    :param db_path: catalog file (default as in :func:`refresh_catalog`).
    :param extra_vars: dbt vars.
    :param progress: progress reporter.
    :raises CatalogError: when there is no catalog yet.
    :raises CheckFailedError: when tests fail; the message names each test and its offending keys.
    """
    root = resolve_data_root(data_root)
    target = Path(db_path).expanduser().resolve() if db_path else root.db_path
    if not target.exists():
        raise CatalogError(f"no catalog at {target}", hint="build it first with `indexctl catalog refresh`")
    start = time.perf_counter()
    build_dir = _new_build_dir(target)
    staged = build_dir / target.name
    try:
        _settle_live_catalog(target)
        shutil.copyfile(target, staged)
        with progress.task("catalog: dbt test", total=None):
            run = run_dbt(
                ["test"], data_root=root.root, db_path=staged, extra_vars=check_dbt_vars(extra_vars)
            )
        attach_failing_rows(run, staged)
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    failed = [n for n in run.failed_nodes if n.resource_type in {"test", "unit_test"}]
    if not run.ok:
        raise CheckFailedError(
            f"{len(failed) or 'some'} catalog test(s) failed:\n{describe_failures(run)}",
            hint="fix the inputs named above, then `indexctl catalog refresh`",
        )
    return RefreshResult(
        db_path=target,
        data_root=root.root,
        seconds=time.perf_counter() - start,
        models=0,
        tests_passed=run.count("test", "pass") + run.count("unit_test", "pass"),
        tests_failed=0,
        warnings=run.count("test", "warn"),
        faiss_idmap_mat="not run",
        swapped=False,
        warned_tests=[n.name for n in run.nodes if n.status == "warn"],
        slowest=run.slowest(),
    )


def generate_docs(
    data_root: DataRootLike = None,
    *,
    db_path: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Run ``dbt docs generate`` (against a copy of the catalog) and return the site folder.

    :param data_root: data root (default: ``$CODEINTEL_DATA_ROOT`` or ``data``).
    :param db_path: catalog file (default as in :func:`refresh_catalog`).
    :param out_dir: where to put the static site (default ``<db dir>/docs``); replaced whole.
    :raises CatalogError: when there is no catalog yet or dbt fails.
    """
    root = resolve_data_root(data_root)
    target = Path(db_path).expanduser().resolve() if db_path else root.db_path
    if not target.exists():
        raise CatalogError(f"no catalog at {target}", hint="build it first with `indexctl catalog refresh`")
    dest = Path(out_dir).resolve() if out_dir else target.parent / "docs"
    build_dir = _new_build_dir(target)
    staged = build_dir / target.name
    try:
        shutil.copyfile(target, staged)
        run = run_dbt(["docs", "generate"], data_root=root.root, db_path=staged)
        if not run.ok:
            raise CatalogError(f"dbt docs generate failed:\n{describe_failures(run)}")
        site = staged.parent / ".dbt" / "target"
        tmp_dest = Path(tempfile.mkdtemp(prefix=".docs-", dir=dest.parent if dest.parent.exists() else None))
        for name in ("index.html", "catalog.json", "manifest.json", "run_results.json"):
            if (site / name).exists():
                shutil.copy2(site / name, tmp_dest / name)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp_dest, dest)
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    return dest
