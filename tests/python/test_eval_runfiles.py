"""Importing external runs: TREC, TSV and Parquet parsing, validation errors with line numbers."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from python_ext.config import DataRoot
from python_ext.errors import EvalInputError
from python_ext.evaluate.runfiles import (
    detect_format,
    import_run,
    imported_run_path,
    parse_run_file,
    read_imported_run,
)

CHUNKS = {101, 102, 103}
QUERIES = {"q1", "q2"}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_trec_run_is_ranked_by_score_and_stored(tmp_path: Path, data_root: DataRoot) -> None:
    run = _write(
        tmp_path,
        "splade.trec",
        "q1 Q0 102 2 7.5 splade\nq1 Q0 101 1 9.0 splade\n\nq2 Q0 103 1 1.25 splade\n",
    )
    assert detect_format(run) == "trec"
    summary = import_run(data_root, "splade", run, known_chunks=CHUNKS, known_queries=QUERIES)
    assert (summary.rows, summary.queries, summary.input_format) == (3, 2, "trec")
    assert summary.path == imported_run_path(data_root, "splade")
    assert read_imported_run(data_root, "splade") == {"q1": [(101, 9.0), (102, 7.5)], "q2": [(103, 1.25)]}


def test_tsv_with_header_and_parquet(tmp_path: Path, data_root: DataRoot) -> None:
    tsv = _write(tmp_path, "run.tsv", "query_id\tchunk_id\tscore\nq2\t103\t0.5\nq2\t101\t0.7\n")
    fmt, rows = parse_run_file(tsv)
    assert fmt == "tsv"
    assert [(r.line, r.query_id, r.chunk_id, r.score) for r in rows] == [
        (2, "q2", 103, 0.5),
        (3, "q2", 101, 0.7),
    ]
    pq.write_table(
        pa.table({"query_id": ["q1"], "chunk_id": [102], "score": [3.0]}), tmp_path / "run.parquet"
    )
    import_run(data_root, "splade", tmp_path / "run.parquet", known_chunks=CHUNKS, known_queries=QUERIES)
    assert read_imported_run(data_root, "splade") == {"q1": [(102, 3.0)]}


def test_malformed_lines_are_listed_with_line_numbers(tmp_path: Path) -> None:
    run = _write(
        tmp_path,
        "bad.trec",
        "q1 Q0 101 1 9.0 s\nq1 Q0 abc 2 8.0 s\nq1 Q0 102 3\nq1 Q0 103 4 nan s\n",
    )
    with pytest.raises(EvalInputError) as err:
        parse_run_file(run, "trec")
    message = str(err.value)
    assert f"{run} is not a valid trec run file: 3 problem(s)" in message
    assert f"{run}:2: docid 'abc' is not an integer chunk id" in message
    assert f"{run}:3: expected 6 fields 'qid Q0 docid rank score tag', got 4" in message
    assert f"{run}:4: score 'nan' is not a finite number" in message


def test_unknown_chunks_queries_and_duplicates_are_reported(tmp_path: Path, data_root: DataRoot) -> None:
    run = _write(tmp_path, "run.tsv", "q1\t101\t1.0\nq1\t999\t0.9\nq9\t102\t0.8\nq1\t101\t0.1\n")
    with pytest.raises(EvalInputError) as err:
        import_run(data_root, "splade", run, known_chunks=CHUNKS, known_queries=QUERIES)
    message = str(err.value)
    assert f"{run}:2: unknown chunk id 999 (not in the chunks of the data root)" in message
    assert f"{run}:3: unknown query id 'q9' (not in queries.parquet)" in message
    assert f"{run}:4: query 'q1' lists chunk 101 again (first on line 1)" in message
    assert not imported_run_path(data_root, "splade").exists()


def test_builtin_channel_names_cannot_be_imported(tmp_path: Path, data_root: DataRoot) -> None:
    run = _write(tmp_path, "run.tsv", "q1\t101\t1.0\n")
    with pytest.raises(EvalInputError, match="--source 'bm25' is not an external channel"):
        import_run(data_root, "bm25", run, known_chunks=CHUNKS, known_queries=QUERIES)


def test_missing_import_is_a_clear_error(data_root: DataRoot) -> None:
    with pytest.raises(EvalInputError, match="no imported run for channel 'splade'") as err:
        read_imported_run(data_root, "splade")
    assert err.value.hint == "import it first: indexctl eval import-run --source splade FILE"
