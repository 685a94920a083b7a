"""Evaluation queries: generated from the code (docstrings, names) and read from JSONL.

Origins (the ``origin`` column of ``eval/queries.parquet``):

``docstring``
    CodeSearchNet style. For every documented function or method, the first sentence of its
    docstring is the query; the positives are the chunks that hold the function's definition
    (the chunk containing the definition's name — confirmed by the SCIP definition occurrence
    when ``scip_occurrences.parquet`` is present, whose symbol is recorded in ``meta``).
    Because the docstring is the answer key, its text is *masked*: ``meta.masks`` lists, per
    chunk, the character span of the docstring inside the chunk content (with the chunk's
    content_hash), and ``indexctl eval run`` removes those spans from what the BM25 and dense
    channels see for these queries.
``name``
    Name-based intent: a function name split into words (``parse_config_file`` →
    ``parse config file``); positives are every chunk defining a function of that name. Only
    names of two or more words are used.
``docstring`` with the **stripped** protocol (``build_queries(stripped=DIR)``, see
    :mod:`python_ext.evaluate.stripped`)
    The same queries made from a copy of the repository whose docstrings were removed before
    it was chunked; positives are the chunks overlapping the function, grouped per function in
    ``meta.positive_groups`` (a function counts as found when any of its chunks is retrieved;
    :mod:`python_ext.evaluate.metrics`); nothing is masked.
    ``codeintel.eval.protocol`` in the file's metadata says which protocol made them
    (``masked`` or ``stripped``).
``user``
    Written by people, from a JSONL file: ``{"query_id", "text", "positives"}`` where each
    positive is a chunk id or ``{"uri": …, "line": …}`` (resolved to the chunk of that file
    whose line range holds the line).

Identical query texts of one origin are merged (positives and masks united). Positives that
are not chunks are reported, excluded and counted; a query left without positives is dropped
and counted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from python_ext import chunkstore
from python_ext.atomic import atomic_write_parquet
from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.contracts import EVAL_QUERIES_SCHEMA, read_parquet_file
from python_ext.errors import ContractError, EvalInputError
from python_ext.evaluate.docstrings import SUPPORTED_LANGUAGES, find_definitions, first_sentence
from python_ext.lang.tokens import identifier_words
from python_ext.lock import writes_data_root
from python_ext.progress import NULL_PROGRESS, Reporter

ORIGINS = ("docstring", "name", "user")
#: Queries shorter than this many words carry too little intent and are skipped.
MIN_DOC_WORDS = 3
MIN_NAME_WORDS = 2
MAX_QUERY_CHARS = 300
_MAX_REPORTED = 20

CHUNK_COLUMNS = ["id", "uri", "start_line", "end_line", "content", "content_hash", "lang", "symbols"]


@dataclass
class Query:
    """One evaluation query (a row of ``queries.parquet``)."""

    query_id: str
    text: str
    positives: list[int]
    origin: str
    meta: dict = field(default_factory=dict)

    def to_row(self) -> dict[str, object]:
        return {
            "query_id": self.query_id,
            "text": self.text,
            "positives": list(self.positives),
            "origin": self.origin,
            "meta": json.dumps(self.meta, sort_keys=True) if self.meta else None,
        }


@dataclass
class QuerySet:
    """Generated and loaded queries plus the bookkeeping of what was excluded."""

    queries: list[Query] = field(default_factory=list)
    excluded_positives: int = 0
    excluded_queries: int = 0
    problems: list[str] = field(default_factory=list)

    def report(self, message: str) -> None:
        if len(self.problems) < _MAX_REPORTED:
            self.problems.append(message)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(ORIGINS, 0)
        for q in self.queries:
            out[q.origin] = out.get(q.origin, 0) + 1
        return out


def _qid(prefix: str, text: str) -> str:
    return f"{prefix}-{hashlib.blake2b(text.encode('utf-8'), digest_size=6).hexdigest()}"


@dataclass
class _ChunkRows:
    """Column lists of the chunk table (cheap row access)."""

    ids: list[int]
    uris: list[str]
    start_lines: list[int]
    end_lines: list[int]
    contents: list[str]
    hashes: list[str]
    langs: list[str]

    @classmethod
    def from_table(cls, table: pa.Table) -> _ChunkRows:
        col = table.column
        return cls(
            col("id").to_pylist(),
            col("uri").to_pylist(),
            col("start_line").to_pylist(),
            col("end_line").to_pylist(),
            col("content").to_pylist(),
            col("content_hash").to_pylist(),
            col("lang").to_pylist(),
        )


def _scip_definitions(scip_occurrences: pa.Table | None) -> dict[tuple[str, int], list[str]]:
    """(uri, line) → SCIP symbols defined there (role bit Definition set)."""
    out: dict[tuple[str, int], list[str]] = {}
    if scip_occurrences is None or scip_occurrences.num_rows == 0:
        return out
    symbols = scip_occurrences.column("symbol").to_pylist()
    uris = scip_occurrences.column("uri").to_pylist()
    lines = scip_occurrences.column("start_line").to_pylist()
    bits = scip_occurrences.column("role_bits").to_pylist()
    for sym, uri, line, b in zip(symbols, uris, lines, bits, strict=True):
        if b & 1 and not sym.startswith("local "):
            out.setdefault((uri, line), []).append(sym)
    return out


def _scip_match(candidates: list[str], name: str) -> str | None:
    for sym in candidates:
        tail = sym.rstrip(".").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        if tail.startswith(f"{name}(") or tail == name or tail.endswith(f"`{name}`()"):
            return sym
    return None


def generate_code_queries(
    chunks: pa.Table,
    *,
    scip_occurrences: pa.Table | None = None,
    origins: Iterable[str] = ("docstring", "name"),
    max_per_origin: int | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> QuerySet:
    """Generate docstring and name queries from a chunk table.

    :param chunks: chunks with at least the columns in :data:`CHUNK_COLUMNS` (``symbols`` optional).
    :param scip_occurrences: the SCIP occurrences contract, to confirm each definition with
        its SCIP symbol (recorded in ``meta.definitions[].scip_symbol``); optional.
    :param origins: which generated origins to produce (``docstring``, ``name``).
    :param max_per_origin: keep at most this many queries per origin, chosen deterministically
        by hashed query id (default: all).
    :returns: the generated queries (no user queries).
    """
    wanted = set(origins)
    unknown = wanted - {"docstring", "name"}
    if unknown:
        raise EvalInputError(f"unknown query origin(s) {sorted(unknown)}", hint="use docstring and/or name")
    rows = _ChunkRows.from_table(chunks)
    scip = _scip_definitions(scip_occurrences)
    doc_groups: dict[str, Query] = {}
    name_groups: dict[str, Query] = {}
    with progress.task("finding documented definitions", total=len(rows.ids)) as advance:
        for i, cid in enumerate(rows.ids):
            advance(1)
            lang = rows.langs[i]
            if lang not in SUPPORTED_LANGUAGES:
                continue
            content = rows.contents[i]
            for d in find_definitions(content, lang, rows.start_lines[i]):
                definition = {"uri": rows.uris[i], "line": d.name_line, "name": d.name, "chunk_id": cid}
                sym = _scip_match(scip.get((rows.uris[i], d.name_line), []), d.name)
                if sym is not None:
                    definition["scip_symbol"] = sym
                if "docstring" in wanted and d.docstring:
                    text = first_sentence(d.docstring)[:MAX_QUERY_CHARS]
                    if len(text.split()) >= MIN_DOC_WORDS:
                        q = doc_groups.setdefault(text, Query(_qid("doc", text), text, [], "docstring", {}))
                        _add_positive(q, cid)
                        q.meta.setdefault("definitions", []).append(definition)
                        q.meta.setdefault("masks", []).append(
                            {
                                "chunk_id": cid,
                                "content_hash": rows.hashes[i],
                                "start": d.doc_start,
                                "end": d.doc_end,
                            }
                        )
                if "name" in wanted and not (d.name.startswith("__") and d.name.endswith("__")):
                    words = identifier_words(d.name.strip("_"))
                    if len(words.split()) >= MIN_NAME_WORDS:
                        q = name_groups.setdefault(words, Query(_qid("name", words), words, [], "name", {}))
                        _add_positive(q, cid)
                        q.meta.setdefault("definitions", []).append(definition)
    out = QuerySet()
    for group in (doc_groups, name_groups):
        queries = sorted(group.values(), key=lambda q: q.query_id)
        if max_per_origin is not None and len(queries) > max_per_origin:
            queries = sorted(queries[:], key=lambda q: hashlib.sha256(q.query_id.encode()).hexdigest())
            queries = sorted(queries[:max_per_origin], key=lambda q: q.query_id)
        out.queries.extend(queries)
    return out


def stripped_queries(
    chunks: pa.Table,
    stripped: str | Path,
    ingested: dict[str, str],
    max_queries: int | None = None,
) -> QuerySet:
    """Docstring queries of a stripped copy (:mod:`python_ext.evaluate.stripped`) against the
    chunks ingested from it.

    :param chunks: the data root's chunks (``id``, ``uri``, ``start_byte``, ``end_byte``).
    :param stripped: the folder :func:`~python_ext.evaluate.stripped.strip_docstrings` wrote.
    :param ingested: uri → file hash the chunks were made from (the ingest's file manifest).
    :raises EvalInputError: when the chunks were not ingested from that copy.
    """
    from python_ext.evaluate.stripped import COPY_DIR, read_targets

    targets, hashes = read_targets(stripped)
    differing = sorted(u for u, h in hashes.items() if ingested.get(u) != h)
    copy = Path(stripped) / COPY_DIR
    if differing:
        raise EvalInputError(
            f"the data root's chunks were not ingested from {copy}: {len(differing)} of its "
            f"{len(hashes)} files differ or are missing (first: {differing[0]})",
            hint=f"ingest the copy into this data root first: indexctl ingest {copy} --out ROOT",
        )
    by_uri: dict[str, list[tuple[int, int, int]]] = {}
    for cid, uri, start, end in zip(
        chunks.column("id").to_pylist(),
        chunks.column("uri").to_pylist(),
        chunks.column("start_byte").to_pylist(),
        chunks.column("end_byte").to_pylist(),
        strict=True,
    ):
        by_uri.setdefault(uri, []).append((start, end, cid))
    groups: dict[str, Query] = {}
    out = QuerySet()
    for t in targets:
        lo, hi = t["start_byte"], t["end_byte"]
        hits = sorted(cid for s, e, cid in by_uri.get(t["uri"], []) if s < hi and lo < e)
        if not hits:
            out.excluded_queries += 1
            out.report(f"{t['uri']}:{t['start_line']}: function {t['name']!r} overlaps no chunk; excluded")
            continue
        text = t["text"]
        q = groups.setdefault(text, Query(_qid("doc", text), text, [], "docstring", {"protocol": "stripped"}))
        for cid in hits:
            _add_positive(q, cid)
        # one group per function: it is found when any chunk overlapping it is (see metrics)
        q.meta.setdefault("positive_groups", []).append(hits)
        q.meta.setdefault("definitions", []).append(
            {"uri": t["uri"], "line": t["start_line"], "end_line": t["end_line"], "name": t["name"]}
        )
    queries = sorted(groups.values(), key=lambda q: q.query_id)
    if max_queries is not None and len(queries) > max_queries:
        queries = sorted(queries, key=lambda q: hashlib.sha256(q.query_id.encode()).hexdigest())[:max_queries]
        queries.sort(key=lambda q: q.query_id)
    out.queries.extend(queries)
    return out


def _add_positive(query: Query, cid: int) -> None:
    if cid not in query.positives:
        query.positives.append(cid)


def load_user_queries(path: str | Path, chunks: pa.Table, into: QuerySet | None = None) -> QuerySet:
    """Read user queries from JSONL and resolve their positives against the chunks.

    Each line: ``{"query_id": str, "text": str, "positives": [chunk_id | {"uri", "line"}, …]}``.

    :param path: the JSONL file.
    :param chunks: the chunk table (``id``, ``uri``, ``start_line``, ``end_line``).
    :param into: append to this set (default: a new one).
    :raises EvalInputError: malformed lines or duplicate query ids, all listed with line numbers.
    """
    path = Path(path)
    out = into if into is not None else QuerySet()
    if not path.is_file():
        raise EvalInputError(f"user query file {path} does not exist")
    ids = set(chunks.column("id").to_pylist())
    by_uri: dict[str, list[tuple[int, int, int]]] = {}
    for cid, uri, s, e in zip(
        chunks.column("id").to_pylist(),
        chunks.column("uri").to_pylist(),
        chunks.column("start_line").to_pylist(),
        chunks.column("end_line").to_pylist(),
        strict=True,
    ):
        by_uri.setdefault(uri, []).append((s, e, cid))
    seen = {q.query_id for q in out.queries}
    errors: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"{path}: not UTF-8 text ({exc})") from exc
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            errors.append(f"{where}: expected a JSON object")
            continue
        qid, text, positives = obj.get("query_id"), obj.get("text"), obj.get("positives")
        if not isinstance(qid, str) or not qid:
            errors.append(f"{where}: 'query_id' must be a non-empty string")
            continue
        if not isinstance(text, str) or not text.strip():
            errors.append(f"{where}: 'text' must be a non-empty string")
            continue
        if not isinstance(positives, list):
            errors.append(f"{where}: 'positives' must be a list")
            continue
        if qid in seen:
            errors.append(f"{where}: duplicate query_id {qid!r}")
            continue
        seen.add(qid)
        resolved: list[int] = []
        for pos in positives:
            cids = _resolve_positive(pos, ids, by_uri)
            if cids is None:
                errors.append(f'{where}: positive {pos!r} must be a chunk id or {{"uri", "line"}}')
                continue
            if not cids:
                out.excluded_positives += 1
                out.report(f"{where}: positive {json.dumps(pos)} of query {qid!r} is not a chunk; excluded")
            for cid in cids:
                if cid not in resolved:
                    resolved.append(cid)
        if not resolved:
            out.excluded_queries += 1
            out.report(f"{where}: query {qid!r} has no positive that is a chunk; excluded")
            continue
        out.queries.append(Query(qid, text.strip(), resolved, "user", {"file": str(path), "line": lineno}))
    if errors:
        more = f"\n  … and {len(errors) - _MAX_REPORTED} more" if len(errors) > _MAX_REPORTED else ""
        raise EvalInputError(
            f"{path}: {len(errors)} malformed line(s)\n  " + "\n  ".join(errors[:_MAX_REPORTED]) + more,
            hint='each line: {"query_id": "q1", "text": "…", "positives": [123, {"uri": "a.py", "line": 7}]}',
        )
    return out


def _resolve_positive(
    pos: object, ids: set[int], by_uri: dict[str, list[tuple[int, int, int]]]
) -> list[int] | None:
    if isinstance(pos, bool):
        return None
    if isinstance(pos, int):
        return [pos] if pos in ids else []
    if isinstance(pos, dict) and isinstance(pos.get("uri"), str) and isinstance(pos.get("line"), int):
        line = pos["line"]
        return sorted(cid for s, e, cid in by_uri.get(pos["uri"], []) if s <= line <= e)
    return None


def queries_table(qs: QuerySet) -> pa.Table:
    """The queries as a table with exactly :data:`EVAL_QUERIES_SCHEMA`."""
    return pa.Table.from_pylist([q.to_row() for q in qs.queries], schema=EVAL_QUERIES_SCHEMA)


def queries_fingerprint(queries: list[Query]) -> str:
    """``sha256:<hex>`` of a query set: every query's id, text and positives, in id order.

    Two runs are comparable only over the same query set (same fingerprint): ``eval run
    --fail-on-regression`` and ``v_eval_run_comparison`` pair such runs only.
    """
    digest = hashlib.sha256()
    for q in sorted(queries, key=lambda q: q.query_id):
        digest.update(json.dumps([q.query_id, q.text, sorted(q.positives)], ensure_ascii=False).encode())
        digest.update(b"\n")
    return f"sha256:{digest.hexdigest()}"


def read_queries(data_root: DataRoot) -> list[Query]:
    """Read ``eval/queries.parquet`` back.

    :raises EvalInputError: when it does not exist (run ``indexctl eval queries``).
    """
    path = data_root.queries_path
    if not path.exists():
        raise EvalInputError(
            f"no evaluation queries at {path}", hint="generate them first: indexctl eval queries"
        )
    hint = "regenerate them: indexctl eval queries"
    table = read_parquet_file(path, what="eval queries", hint=hint)
    if not table.schema.equals(EVAL_QUERIES_SCHEMA, check_metadata=False):
        raise ContractError(f"{path}: schema does not match the eval queries contract", hint=hint)
    out = []
    for row, r in enumerate(table.to_pylist()):
        try:
            meta = json.loads(r["meta"]) if r["meta"] else {}
        except ValueError as exc:
            raise ContractError(f"{path}: row {row}: meta is not JSON ({exc})", hint=hint) from exc
        out.append(
            Query(
                r["query_id"],
                r["text"],
                list(r["positives"]),
                r["origin"],
                meta if isinstance(meta, dict) else {},
            )
        )
    return out


@dataclass(frozen=True)
class QueriesResult:
    """What ``build_queries`` wrote."""

    path: Path
    counts: dict[str, int]
    total: int
    masked_chunks: int
    excluded_positives: int
    excluded_queries: int
    used_scip: bool
    problems: list[str]
    protocol: str = "masked"

    def to_dict(self) -> dict[str, object]:
        return {
            "protocol": self.protocol,
            "path": str(self.path),
            "queries": self.total,
            "by_origin": self.counts,
            "masked_chunks": self.masked_chunks,
            "excluded_positives": self.excluded_positives,
            "excluded_queries": self.excluded_queries,
            "used_scip": self.used_scip,
            "problems": self.problems,
        }


@writes_data_root("eval queries")
def build_queries(
    data_root: DataRootLike,
    *,
    user_file: str | Path | None = None,
    origins: Iterable[str] = ("docstring", "name"),
    max_per_origin: int | None = None,
    use_scip: bool = True,
    stripped: str | Path | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> QueriesResult:
    """Generate (and/or load) the evaluation queries and write ``eval/queries.parquet``.

    :param data_root: the data root holding the chunks (and optionally SCIP facts).
    :param user_file: a JSONL file of user-written queries to add.
    :param origins: generated origins (``docstring``, ``name``); empty for user queries only.
    :param max_per_origin: cap per generated origin (deterministic choice); default all.
    :param use_scip: use ``scip_occurrences.parquet`` when present (default True).
    :param stripped: a folder written by ``indexctl eval strip`` (the stripped protocol): the
        docstring queries come from it, with positives among this data root's chunks, which
        must have been ingested from its copy (:func:`stripped_queries`); name queries are
        generated from the chunks as usual.
    :returns: counts of what was written. Replaces the previous queries file atomically.
    :raises EvalInputError: no query at all, or a malformed user file.
    """
    data_root = resolve_data_root(data_root)
    chunks = chunkstore.read_chunks(data_root, columns=CHUNK_COLUMNS)
    scip_path = data_root.scip_occurrences_path
    scip = None
    if use_scip and scip_path.exists():
        scip = read_parquet_file(
            scip_path,
            what="scip occurrences",
            hint="re-import SCIP (indexctl scip import), or pass --no-scip",
            columns=["symbol", "uri", "start_line", "role_bits"],
        )
    origins = list(origins)
    generated = [o for o in origins if not (stripped is not None and o == "docstring")]
    qs = (
        generate_code_queries(
            chunks, scip_occurrences=scip, origins=generated, max_per_origin=max_per_origin, progress=progress
        )
        if generated
        else QuerySet()
    )
    if stripped is not None and "docstring" in origins:
        from python_ext.ingest.cache import FileManifest

        bounds = chunkstore.read_chunks(data_root, columns=["id", "uri", "start_byte", "end_byte"])
        found = stripped_queries(bounds, stripped, FileManifest.load(data_root).files, max_per_origin)
        qs.queries.extend(found.queries)
        qs.excluded_queries += found.excluded_queries
        for problem in found.problems:
            qs.report(problem)
    if user_file is not None:
        load_user_queries(user_file, chunks, into=qs)
    if not qs.queries:
        raise EvalInputError(
            "no evaluation queries: no documented function with a docstring sentence of "
            f"{MIN_DOC_WORDS}+ words or multi-word name was found, and no user queries were given",
            hint="pass user queries with --from-jsonl FILE",
        )
    ids = {q.query_id for q in qs.queries}
    if len(ids) != len(qs.queries):
        raise EvalInputError("a user query_id collides with a generated one", hint="rename the user query")
    table = queries_table(qs).replace_schema_metadata(
        {
            b"codeintel.eval.generated_at": datetime.now(UTC).isoformat().encode(),
            b"codeintel.eval.chunks_fingerprint": chunkstore.chunks_fingerprint(data_root).encode(),
            b"codeintel.eval.protocol": b"stripped" if stripped is not None else b"masked",
        }
    )
    path = atomic_write_parquet(data_root.queries_path, table)
    masked = {m["chunk_id"] for q in qs.queries for m in q.meta.get("masks", [])}
    return QueriesResult(
        path=path,
        counts=qs.counts(),
        total=len(qs.queries),
        masked_chunks=len(masked),
        excluded_positives=qs.excluded_positives,
        excluded_queries=qs.excluded_queries,
        used_scip=scip is not None and scip.num_rows > 0,
        problems=qs.problems,
        protocol="stripped" if stripped is not None else "masked",
    )
