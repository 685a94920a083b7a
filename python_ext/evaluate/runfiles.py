"""Import ranked results of external retrieval systems (SPLADE or any other) as a channel.

Accepted run files:

* **TREC run format** — whitespace-separated ``qid Q0 docid rank score tag`` lines (the
  format ``trec_eval`` reads); ``docid`` is the chunk id. As in ``trec_eval`` the order comes
  from the score (higher first); the file's rank column only breaks ties.
* **TSV** — ``query_id<TAB>chunk_id<TAB>score`` lines, optionally with that header line.
* **Parquet** — columns ``query_id`` (string), ``chunk_id`` (integer), ``score`` (number).

Every row is validated: malformed lines, non-integer chunk ids, non-finite scores, a chunk id
that is not in the chunks of the data root, a query id that is not in ``queries.parquet`` and
a (query, chunk) pair given twice are all reported with their line numbers (row numbers for
Parquet) in one :class:`~python_ext.errors.EvalInputError`; nothing is written then.

A valid file is stored as ``<data root>/eval/imported/<source>.parquet`` (query_id, chunk_id,
score, rank) and becomes available to ``indexctl eval run --channels …,<source>``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from python_ext.atomic import atomic_write_parquet
from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.contracts import EVAL_CHANNELS, read_parquet_file
from python_ext.errors import EvalInputError
from python_ext.lock import writes_data_root

#: Channels that ``indexctl eval run`` computes itself; imports may not use these names.
BUILTIN_CHANNELS = ("faiss", "flat", "bm25", "hybrid")
#: Names an imported run may take (the pool contract's sources minus the built-in ones).
EXTERNAL_CHANNELS = tuple(c for c in EVAL_CHANNELS if c not in BUILTIN_CHANNELS)
RUN_FORMATS = ("auto", "trec", "tsv", "parquet")

IMPORTED_RUN_SCHEMA = pa.schema(
    [
        pa.field("query_id", pa.string(), nullable=False),
        pa.field("chunk_id", pa.int64(), nullable=False),
        pa.field("score", pa.float32(), nullable=False),
        pa.field("rank", pa.int32(), nullable=False),
    ]
)

_MAX_REPORTED = 10


def imported_run_path(data_root: DataRoot, source: str) -> Path:
    """Where the validated run of external channel ``source`` is stored."""
    return data_root.eval_dir / "imported" / f"{source}.parquet"


@dataclass(frozen=True)
class RunRow:
    """One parsed line of a run file (``line`` is 1-based; the row number for Parquet)."""

    line: int
    query_id: str
    chunk_id: int
    score: float
    rank: int | None = None


@dataclass(frozen=True)
class ImportRunResult:
    """What ``import_run`` stored."""

    source: str
    path: Path
    input_path: Path
    input_format: str
    input_sha256: str
    rows: int
    queries: int

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "path": str(self.path),
            "input": str(self.input_path),
            "format": self.input_format,
            "input_sha256": self.input_sha256,
            "rows": self.rows,
            "queries": self.queries,
        }


class _Problems:
    """Collects problems with their line numbers; raises them together."""

    def __init__(self, path: Path, unit: str = "line") -> None:
        self.path = path
        self.unit = unit
        self.items: list[str] = []
        self.count = 0

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.items) < _MAX_REPORTED:
            self.items.append(f"{self.path}:{line}: {message}")

    def raise_if_any(self, what: str, hint: str) -> None:
        if not self.count:
            return
        more = f"\n  … and {self.count - len(self.items)} more" if self.count > len(self.items) else ""
        raise EvalInputError(
            f"{what}: {self.count} problem(s)\n  " + "\n  ".join(self.items) + more, hint=hint
        )


def detect_format(path: Path) -> str:
    """Guess the run-file format from the extension and the first data line."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return "parquet"
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if "\t" in line:
                return "tsv"
            fields = line.split()
            return "trec" if len(fields) == 6 and fields[1] == "Q0" else "tsv"
    return "tsv"


def _parse_int(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if -(2**63) <= value < 2**63 else None


def _parse_score(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_trec(path: Path, problems: _Problems) -> list[RunRow]:
    """Parse a TREC run file; problems are collected with their line numbers."""
    rows: list[RunRow] = []
    with path.open("r", encoding="utf-8", errors="strict") as fh:
        for lineno, raw in enumerate(_lines(fh, path), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split()
            if len(fields) != 6:
                problems.add(lineno, f"expected 6 fields 'qid Q0 docid rank score tag', got {len(fields)}")
                continue
            qid, _q0, docid, rank_s, score_s, _tag = fields
            cid, rank, score = _parse_int(docid), _parse_int(rank_s), _parse_score(score_s)
            if cid is None:
                problems.add(lineno, f"docid {docid!r} is not an integer chunk id")
            elif rank is None:
                problems.add(lineno, f"rank {rank_s!r} is not an integer")
            elif score is None:
                problems.add(lineno, f"score {score_s!r} is not a finite number")
            else:
                rows.append(RunRow(lineno, qid, cid, score, rank))
    return rows


def parse_tsv(path: Path, problems: _Problems) -> list[RunRow]:
    """Parse a ``query_id<TAB>chunk_id<TAB>score`` file (an optional header line is skipped)."""
    rows: list[RunRow] = []
    with path.open("r", encoding="utf-8", errors="strict") as fh:
        for lineno, raw in enumerate(_lines(fh, path), start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if lineno == 1 and [f.strip() for f in fields] == ["query_id", "chunk_id", "score"]:
                continue
            if len(fields) != 3:
                problems.add(
                    lineno, f"expected 3 tab-separated fields query_id, chunk_id, score; got {len(fields)}"
                )
                continue
            qid, cid_s, score_s = (f.strip() for f in fields)
            cid, score = _parse_int(cid_s), _parse_score(score_s)
            if not qid:
                problems.add(lineno, "empty query_id")
            elif cid is None:
                problems.add(lineno, f"chunk_id {cid_s!r} is not an integer")
            elif score is None:
                problems.add(lineno, f"score {score_s!r} is not a finite number")
            else:
                rows.append(RunRow(lineno, qid, cid, score))
    return rows


def parse_parquet(path: Path, problems: _Problems) -> list[RunRow]:
    """Read a Parquet run (query_id, chunk_id, score); row numbers are 1-based."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise EvalInputError(f"{path}: not a readable Parquet file ({exc})") from exc
    missing = [c for c in ("query_id", "chunk_id", "score") if c not in table.column_names]
    if missing:
        raise EvalInputError(
            f"{path}: missing column(s) {', '.join(missing)}; have {', '.join(table.column_names)}",
            hint="a Parquet run needs columns query_id, chunk_id, score",
        )
    rows: list[RunRow] = []
    qids = table.column("query_id").to_pylist()
    cids = table.column("chunk_id").to_pylist()
    scores = table.column("score").to_pylist()
    for i, (qid, cid, score) in enumerate(zip(qids, cids, scores, strict=True), start=1):
        if qid is None or str(qid) == "":
            problems.add(i, "empty query_id")
        elif not isinstance(cid, int) or isinstance(cid, bool):
            problems.add(i, f"chunk_id {cid!r} is not an integer")
        elif not isinstance(score, (int, float)) or not math.isfinite(float(score)):
            problems.add(i, f"score {score!r} is not a finite number")
        else:
            rows.append(RunRow(i, str(qid), int(cid), float(score)))
    return rows


def _lines(fh: Iterable[str], path: Path) -> Iterable[str]:
    try:
        yield from fh
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"{path}: not UTF-8 text ({exc})", hint="run files are UTF-8 text") from exc


def parse_run_file(path: str | Path, fmt: str = "auto") -> tuple[str, list[RunRow]]:
    """Parse a run file of any supported format.

    :param path: the run file.
    :param fmt: ``auto`` (by extension and first line), ``trec``, ``tsv`` or ``parquet``.
    :returns: ``(format used, rows)``.
    :raises EvalInputError: unreadable file or malformed lines (all listed with line numbers).
    """
    path = Path(path)
    if fmt not in RUN_FORMATS:
        raise EvalInputError(f"unknown run format {fmt!r}", hint=f"use one of {', '.join(RUN_FORMATS)}")
    if not path.is_file():
        raise EvalInputError(f"run file {path} does not exist")
    used = detect_format(path) if fmt == "auto" else fmt
    problems = _Problems(path, "row" if used == "parquet" else "line")
    parser = {"trec": parse_trec, "tsv": parse_tsv, "parquet": parse_parquet}[used]
    rows = parser(path, problems)
    problems.raise_if_any(
        f"{path} is not a valid {used} run file",
        "TREC: 'qid Q0 docid rank score tag'; TSV: 'query_id<TAB>chunk_id<TAB>score'",
    )
    return used, rows


def validate_rows(
    path: Path,
    rows: list[RunRow],
    known_chunks: set[int],
    known_queries: set[str],
    unit: str = "line",
) -> None:
    """Check chunk ids, query ids and duplicates; raise one error listing every problem."""
    problems = _Problems(path, unit)
    seen: dict[tuple[str, int], int] = {}
    unknown_q: set[str] = set()
    for row in rows:
        if row.chunk_id not in known_chunks:
            problems.add(row.line, f"unknown chunk id {row.chunk_id} (not in the chunks of the data root)")
        if row.query_id not in known_queries:
            unknown_q.add(row.query_id)
            problems.add(row.line, f"unknown query id {row.query_id!r} (not in queries.parquet)")
        key = (row.query_id, row.chunk_id)
        if key in seen:
            problems.add(
                row.line,
                f"query {row.query_id!r} lists chunk {row.chunk_id} again (first on {unit} {seen[key]})",
            )
        else:
            seen[key] = row.line
    problems.raise_if_any(
        f"{path} does not match this data root",
        "produce the run over the same chunks (ids from the chunks Parquet) and the query ids "
        "of `indexctl eval queries`",
    )


def rank_rows(rows: list[RunRow]) -> pa.Table:
    """Order each query's rows by score (desc), then file rank, then line; assign ranks 1…n."""
    by_query: dict[str, list[RunRow]] = {}
    for row in rows:
        by_query.setdefault(row.query_id, []).append(row)
    out: dict[str, list] = {"query_id": [], "chunk_id": [], "score": [], "rank": []}
    for qid in sorted(by_query):
        ordered = sorted(
            by_query[qid],
            key=lambda r: (-r.score, r.rank if r.rank is not None else 0, r.line),
        )
        for rank, row in enumerate(ordered, start=1):
            out["query_id"].append(qid)
            out["chunk_id"].append(row.chunk_id)
            out["score"].append(row.score)
            out["rank"].append(rank)
    return pa.Table.from_pydict(out, schema=IMPORTED_RUN_SCHEMA)


def read_imported_run(data_root: DataRoot, source: str) -> dict[str, list[tuple[int, float]]]:
    """Load a stored imported run: query_id → ranked ``(chunk_id, score)``.

    :raises EvalInputError: nothing was imported for ``source``.
    """
    path = imported_run_path(data_root, source)
    if not path.exists():
        raise EvalInputError(
            f"no imported run for channel {source!r} ({path} does not exist)",
            hint=f"import it first: indexctl eval import-run --source {source} FILE",
        )
    table = read_parquet_file(
        path,
        what="imported run",
        hint=f"import it again: indexctl eval import-run --source {source} FILE",
        columns=["query_id", "chunk_id", "score", "rank"],
    ).sort_by([("query_id", "ascending"), ("rank", "ascending")])
    out: dict[str, list[tuple[int, float]]] = {}
    for qid, cid, score in zip(
        table.column("query_id").to_pylist(),
        table.column("chunk_id").to_pylist(),
        table.column("score").to_pylist(),
        strict=True,
    ):
        out.setdefault(qid, []).append((int(cid), float(score)))
    return out


@writes_data_root("eval import-run")
def import_run(
    data_root: DataRootLike,
    source: str,
    run_file: str | Path,
    *,
    fmt: str = "auto",
    known_chunks: set[int] | None = None,
    known_queries: set[str] | None = None,
) -> ImportRunResult:
    """Validate an external run file and store it as channel ``source``.

    :param data_root: the data root whose chunks and queries the run must match.
    :param source: the channel name, one of :data:`EXTERNAL_CHANNELS` (e.g. ``splade``).
    :param run_file: TREC, TSV or Parquet run file.
    :param fmt: ``auto`` or an explicit format.
    :param known_chunks: every chunk id (default: read from the data root's chunks).
    :param known_queries: every query id (default: read from ``eval/queries.parquet``).
    :returns: what was stored. Replaces a previous import of the same source (atomically).
    """
    data_root = resolve_data_root(data_root)
    if source not in EXTERNAL_CHANNELS:
        raise EvalInputError(
            f"--source {source!r} is not an external channel",
            hint=f"use one of {', '.join(EXTERNAL_CHANNELS)} (faiss, flat, bm25 and hybrid are computed "
            "by `indexctl eval run`)",
        )
    path = Path(run_file)
    used, rows = parse_run_file(path, fmt)
    if known_chunks is None:
        from python_ext import chunkstore

        known_chunks = set(chunkstore.read_chunks(data_root, columns=["id"]).column("id").to_pylist())
    if known_queries is None:
        from python_ext.evaluate.queries import read_queries

        known_queries = {q.query_id for q in read_queries(data_root)}
    if not rows:
        raise EvalInputError(f"{path}: the run file holds no result lines")
    validate_rows(path, rows, known_chunks, known_queries, "row" if used == "parquet" else "line")
    table = rank_rows(rows)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    meta = {
        b"codeintel.imported.source": source.encode(),
        b"codeintel.imported.input": str(path.resolve()).encode(),
        b"codeintel.imported.format": used.encode(),
        b"codeintel.imported.sha256": sha.encode(),
    }
    out = imported_run_path(data_root, source)
    atomic_write_parquet(out, table.replace_schema_metadata(meta))
    return ImportRunResult(
        source=source,
        path=out,
        input_path=path,
        input_format=used,
        input_sha256=sha,
        rows=table.num_rows,
        queries=len(set(table.column("query_id").to_pylist())),
    )
