"""Hydration: fetch catalog rows for a list of chunk ids (search hits), in input order.

:func:`hydrate` is what ``indexctl search`` calls with the ids FAISS returned. It reads the
dbt-built catalog through a cached read-only DuckDB connection (reopened when the catalog
file is atomically replaced by ``indexctl catalog refresh``), looks the ids up through the ART
index on ``stg_chunks.chunk_id`` (via the public ``v_chunks`` mart), and never formats user
input into SQL: ids, patterns and languages are all bound parameters.

Lookups go to the tables behind the public marts (``v_chunks`` → ``stg_chunks``,
``int_uri_modules``, ``int_chunk_symbols``, ``faiss_idmap_mat``), each with an ART index on its
key, so every query is an index scan instead of a view evaluated over the whole catalog.

Scope filters:

* ``include`` / ``exclude``: glob patterns over the repository-relative ``uri`` with
  :func:`fnmatch.fnmatchcase` semantics (``*`` and ``?`` match any character including ``/``;
  ``[seq]`` classes; a trailing ``/`` means "everything under"). A row is kept when it matches
  at least one include pattern (if any are given) and no exclude pattern. Patterns made only
  of literals, ``*`` and ``?`` become SQL ``LIKE … ESCAPE '\\'`` predicates (``%`` and ``_``
  escaped); the others are applied exactly in Python after the lookup.
* ``languages``: language names as in ``seeds/languages.csv`` (case-insensitive).

Ids that are not in the catalog, or that the filters remove, are omitted from the returned
list; :func:`hydrate_report` returns them separately. Duplicate input ids are returned once,
at their first position.
"""

from __future__ import annotations

import fnmatch
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_ext.catalog.hydration_index import HydrationIndex, catalog_stamp, open_hydration_index
from python_ext.config import resolve_data_root
from python_ext.errors import CatalogError, InputError

#: Columns every hydrated row has, in this order.
BASE_COLUMNS = (
    "chunk_id",
    "uri",
    "start_line",
    "end_line",
    "start_byte",
    "end_byte",
    "language",
    "content_hash",
    "preview",
    "content",
)
_BATCH = 1000
_LOCK = threading.Lock()
_CONNECTIONS: dict[str, tuple[tuple[int, int, int], Any]] = {}
_SIDECARS: dict[str, HydrationIndex] = {}


@dataclass
class Hydration:
    """Rows found (in input order) and the ids that were not returned, by reason."""

    rows: list[dict[str, Any]]
    missing_ids: list[int] = field(default_factory=list)
    filtered_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "missing_ids": self.missing_ids, "filtered_ids": self.filtered_ids}


def _connection(db_path: Path) -> Any:
    """A read-only connection to ``db_path``, cached until the file is replaced."""
    import duckdb

    try:
        st = os.stat(db_path)
    except FileNotFoundError as exc:
        raise CatalogError(
            f"no catalog at {db_path}", hint="build it with `indexctl catalog refresh` (or pass db_path)"
        ) from exc
    key = str(db_path)
    stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
    with _LOCK:
        cached = _CONNECTIONS.get(key)
        if cached and cached[0] == stamp:
            return cached[1]
        if cached:
            cached[1].close()
        con = duckdb.connect(key, read_only=True)
        # 200 ids out of 1M are far below DuckDB's default index-scan thresholds' spirit but
        # above their absolute count; let IN lists of search-sized batches use the ART index.
        con.execute("set index_scan_max_count = 4096")
        try:
            # binds every table hydration reads, without running anything
            con.execute(
                "select 1 from main.v_chunks, staging.int_uri_modules, staging.int_chunk_symbols, "
                "main.faiss_idmap_mat limit 0"
            ).fetchall()
        except duckdb.CatalogException as exc:
            con.close()
            raise CatalogError(
                f"{db_path} is not a codeintel catalog (no main.v_chunks)",
                hint="build it with `indexctl catalog refresh`",
            ) from exc
        _CONNECTIONS[key] = (stamp, con)
        return con


def close_connections() -> None:
    """Close every cached catalog connection and hydration index (tests, services)."""
    with _LOCK:
        for _, con in _CONNECTIONS.values():
            con.close()
        _CONNECTIONS.clear()
        _SIDECARS.clear()


def _hydration_index(db_path: Path) -> HydrationIndex | None:
    """The catalog's hydration index when it matches the file (cached), else None."""
    key = str(db_path)
    with _LOCK:
        cached = _SIDECARS.get(key)
        if cached is not None:
            try:
                if catalog_stamp(db_path) == cached.stamp:
                    return cached
            except FileNotFoundError:
                pass
            del _SIDECARS[key]
        index = open_hydration_index(db_path)
        if index is not None:
            _SIDECARS[key] = index
        return index


def glob_to_like(pattern: str) -> str | None:
    """Translate a simple glob into an equivalent SQL LIKE pattern (escape character ``\\``).

    :param pattern: fnmatch-style glob; a trailing ``/`` means everything under the folder.
    :returns: the LIKE pattern, or None when the glob uses ``[...]`` classes (not expressible).
    """
    pattern = _normalize_glob(pattern)
    if "[" in pattern:
        return None
    out = []
    for ch in pattern:
        if ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _normalize_glob(pattern: str) -> str:
    if not isinstance(pattern, str) or not pattern:
        raise InputError(f"glob pattern must be a non-empty string, got {pattern!r}")
    return pattern + "*" if pattern.endswith("/") else pattern


def _check_ids(ids: Iterable[int]) -> list[int]:
    out = []
    for position, value in enumerate(ids):
        if isinstance(value, bool) or not isinstance(value, int):
            try:
                import numpy as np

                if isinstance(value, np.integer):
                    out.append(int(value))
                    continue
            except ImportError:  # pragma: no cover - numpy is a dependency
                pass
            raise InputError(f"chunk id at position {position} is not an integer: {value!r}")
        out.append(value)
    return out


def hydrate_report(
    ids: Sequence[int],
    *,
    db_path: str | os.PathLike[str] | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    with_modules: bool = False,
    with_symbols: bool = False,
    with_faiss_row: bool = False,
) -> Hydration:
    """Like :func:`hydrate`, but also report the ids that were missing or filtered out."""
    wanted = list(dict.fromkeys(_check_ids(ids)))
    if not wanted:
        return Hydration(rows=[])
    path = Path(db_path).expanduser().resolve() if db_path else resolve_data_root().db_path
    if not (with_modules or with_symbols or with_faiss_row):
        index = _hydration_index(path)
        if index is not None:
            return _from_index(index, wanted, include, exclude, languages)
    con = _connection(path).cursor()
    try:
        likes_in, exact_in = _split_globs(include)
        likes_out, exact_out = _split_globs(exclude)
        # The filters are computed as a column, not a WHERE clause: the lookup stays a pure
        # ART-index scan on chunk_id, and one query tells filtered ids from missing ones.
        keep, params = [], []
        if include and not exact_in:
            keep.append("(" + " or ".join("uri like ? escape '\\'" for _ in likes_in) + ")")
            params += likes_in
        if likes_out:
            keep.append("not (" + " or ".join("uri like ? escape '\\'" for _ in likes_out) + ")")
            params += likes_out
        if languages:
            langs = [str(lang).lower() for lang in languages]
            keep.append("language in (" + ", ".join("?" for _ in langs) + ")")
            params += langs
        keep_sql = " and ".join(keep) if keep else "true"
        cols = list(BASE_COLUMNS) + (["symbols"] if with_symbols else [])
        found: dict[int, dict[str, Any]] = {}
        filtered_set: set[int] = set()
        include_exact = [_normalize_glob(p) for p in include] if include and exact_in else []
        exclude_exact = [_normalize_glob(p) for p in exact_out]
        for batch in _batches(wanted):
            sql = (
                f"select {', '.join(cols)}, ({keep_sql}) as is_kept from main.v_chunks "
                "where chunk_id in (" + ", ".join("?" for _ in batch) + ")"
            )
            cur = con.execute(sql, [*params, *batch])
            names = [d[0] for d in cur.description]
            for row in cur.fetchall():
                record = dict(zip(names, row, strict=True))
                kept = record.pop("is_kept")
                uri = record["uri"]
                if kept and include_exact:
                    kept = any(fnmatch.fnmatchcase(uri, p) for p in include_exact)
                if kept and exclude_exact:
                    kept = not any(fnmatch.fnmatchcase(uri, p) for p in exclude_exact)
                if kept:
                    found[record["chunk_id"]] = record
                else:
                    filtered_set.add(record["chunk_id"])
        if found and with_modules:
            _add_modules(con, found)
        if found and with_symbols:
            _add_scip_symbols(con, found)
        if found and with_faiss_row:
            _join(
                con,
                found,
                "main.faiss_idmap_mat",
                {"faiss_row": "faiss_row", "faiss_id": "faiss_id", "build_version": "build_version"},
            )
        rows = [found[i] for i in wanted if i in found]
        filtered = [i for i in wanted if i in filtered_set]
        missing = [i for i in wanted if i not in found and i not in filtered_set]
        return Hydration(rows=rows, missing_ids=missing, filtered_ids=filtered)
    finally:
        con.close()


def _from_index(
    index: HydrationIndex,
    wanted: list[int],
    include: Sequence[str] | None,
    exclude: Sequence[str] | None,
    languages: Sequence[str] | None,
) -> Hydration:
    """Hydrate from the memory-mapped sidecar; same rows and filters as the SQL path."""
    found = index.lookup(wanted)
    include_globs = [_normalize_glob(p) for p in include or []]
    exclude_globs = [_normalize_glob(p) for p in exclude or []]
    langs = {str(lang).lower() for lang in languages} if languages else None
    filtered_set: set[int] = set()
    for chunk, record in found.items():
        uri = record["uri"]
        kept = (
            (not include_globs or any(fnmatch.fnmatchcase(uri, p) for p in include_globs))
            and not any(fnmatch.fnmatchcase(uri, p) for p in exclude_globs)
            and (langs is None or record["language"] in langs)
        )
        if not kept:
            filtered_set.add(chunk)
    rows = [found[i] for i in wanted if i in found and i not in filtered_set]
    filtered = [i for i in wanted if i in filtered_set]
    missing = [i for i in wanted if i not in found]
    return Hydration(rows=rows, missing_ids=missing, filtered_ids=filtered)


def _split_globs(patterns: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(LIKE patterns of the simple globs, the globs that need exact matching)."""
    likes, exact = [], []
    for pattern in patterns or []:
        like = glob_to_like(pattern)
        if like is None:
            exact.append(pattern)
        else:
            likes.append(like)
    return likes, exact


def _batches(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _BATCH):
        yield ids[start : start + _BATCH]


def _param_marks(n: int) -> str:
    return "(" + ", ".join("?" for _ in range(n)) + ")"


def _add_modules(con: Any, found: dict[int, dict[str, Any]]) -> None:
    """Add ``module_id`` / ``module_prefix`` from the per-file module table (index on uri)."""
    uris = sorted({r["uri"] for r in found.values()})
    modules: dict[str, tuple[Any, Any]] = {}
    for start in range(0, len(uris), _BATCH):
        part = uris[start : start + _BATCH]
        cur = con.execute(
            "select files.uri, files.module_id, modules.uri_prefix from staging.int_uri_modules as files "
            "left join staging.stg_modules as modules on files.module_id = modules.module_id "
            f"where files.uri in {_param_marks(len(part))}",
            part,
        )
        modules.update({uri: (module_id, prefix) for uri, module_id, prefix in cur.fetchall()})
    for record in found.values():
        record["module_id"], record["module_prefix"] = modules.get(record["uri"], (None, None))


def _add_scip_symbols(con: Any, found: dict[int, dict[str, Any]]) -> None:
    """Add ``scip_symbols``: the chunk's listed symbols resolved to SCIP definitions
    (``int_chunk_symbols``, the table behind ``v_chunk_symbols``; index on chunk_id)."""
    for record in found.values():
        record["scip_symbols"] = []
    for batch in _batches(list(found)):
        cur = con.execute(
            "select chunk_id, symbol_position, symbol_name, scip_symbol, scip_kind "
            f"from staging.int_chunk_symbols where chunk_id in {_param_marks(len(batch))}",
            batch,
        )
        for chunk, _, name, symbol, kind in sorted(cur.fetchall(), key=lambda r: (r[0], r[1])):
            if symbol is not None:
                found[chunk]["scip_symbols"].append({"name": name, "symbol": symbol, "kind": kind})


def _join(con: Any, found: dict[int, dict[str, Any]], relation: str, columns: dict[str, str]) -> None:
    """Add ``columns`` (source column -> output name) of ``relation``, keyed by chunk_id, to the
    found rows; None where the relation has no row for the chunk."""
    select = ", ".join(f"{src} as {dst}" for src, dst in columns.items())
    for batch in _batches(list(found)):
        marks = ", ".join("?" for _ in batch)
        sql = f"select chunk_id, {select} from {relation} where chunk_id in ({marks})"
        cur = con.execute(sql, batch)
        for row in cur.fetchall():
            found[row[0]].update(zip(columns.values(), row[1:], strict=True))
    for record in found.values():
        for name in columns.values():
            record.setdefault(name, None)


def hydrate(
    ids: Sequence[int],
    *,
    db_path: str | os.PathLike[str] | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    with_modules: bool = False,
    with_symbols: bool = False,
    with_faiss_row: bool = False,
) -> list[dict[str, Any]]:
    """Return catalog rows for ``ids`` in input order (missing or filtered ids omitted).

    Every row has :data:`BASE_COLUMNS`; the ``with_*`` flags add columns.

    :param ids: chunk ids (e.g. FAISS search results); duplicates are returned once.
    :param db_path: catalog file (default: ``$CODEINTEL_DB_PATH`` or
        ``<data root>/db/codeintel.duckdb``).
    :param include: globs over ``uri``; keep rows matching any (default: all).
    :param exclude: globs over ``uri``; drop rows matching any.
    :param languages: keep only these languages.
    :param with_modules: add ``module_id`` and ``module_prefix`` (v_chunk_modules; None when the
        chunk has no module).
    :param with_symbols: add ``symbols`` (names listed by the chunker) and ``scip_symbols``
        (list of ``{name, symbol, kind}`` SCIP definitions matched inside the chunk).
    :param with_faiss_row: add ``faiss_row``, ``faiss_id``, ``build_version`` from
        faiss_idmap_mat (None when the chunk is not in the published index).
    :raises CatalogError: when the catalog file is missing or not a catalog.
    :raises InputError: for a non-integer id or an empty pattern.
    """
    return hydrate_report(
        ids,
        db_path=db_path,
        include=include,
        exclude=exclude,
        languages=languages,
        with_modules=with_modules,
        with_symbols=with_symbols,
        with_faiss_row=with_faiss_row,
    ).rows
