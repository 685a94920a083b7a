"""Query generation on a real fixture with known docstrings; user JSONL; masking info."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from eval_data import build_tiny_data_root

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.contracts import EVAL_QUERIES_SCHEMA
from python_ext.errors import EvalInputError
from python_ext.evaluate.channels import mask_text
from python_ext.evaluate.docstrings import find_definitions, first_sentence
from python_ext.evaluate.queries import build_queries, load_user_queries, read_queries


@pytest.fixture
def tiny_root(tiny_repo: Path, data_root: DataRoot) -> DataRoot:
    return build_tiny_data_root(tiny_repo, data_root, index=False)


def _chunk_of(root: DataRoot, uri: str, line: int) -> dict:
    rows = chunkstore.read_chunks(root, ["id", "uri", "start_line", "end_line", "content", "content_hash"])
    hits = [r for r in rows.to_pylist() if r["uri"] == uri and r["start_line"] <= line <= r["end_line"]]
    assert len(hits) == 1, hits
    return hits[0]


def test_docstrings_of_every_language(tiny_repo: Path) -> None:
    cases = {
        "tinylib/textutil.py": ("python", "word_count", "Count the words in a piece of text"),
        "go/server.go": ("go", "TotalArea", "TotalArea sums the areas of all shapes"),
        "rust/src/lib.rs": ("rust", "total_area", "Sum the areas of a slice of shapes"),
        "java/src/main/java/org/tiny/Greeter.java": (
            "java",
            "greet",
            "Greet one person by name and remember the greeting",
        ),
        "web/util.ts": (
            "typescript",
            "debounce",
            "Delay calls to fn until wait milliseconds have passed without another call",
        ),
    }
    for uri, (lang, name, sentence) in cases.items():
        text = (tiny_repo / uri).read_text(encoding="utf-8")
        found = {d.name: d for d in find_definitions(text, lang) if d.docstring}
        assert name in found, (uri, sorted(found))
        d = found[name]
        assert first_sentence(d.docstring) == sentence
        assert sentence.split()[0] in text[d.doc_start : d.doc_end]
    # undocumented definitions are found too, without a docstring
    text = (tiny_repo / "rust/src/lib.rs").read_text(encoding="utf-8")
    assert any(d.name == "square_area" and d.docstring is None for d in find_definitions(text, "rust"))


def test_first_sentence() -> None:
    assert first_sentence("Convert a title.\n\nMore text.") == "Convert a title"
    assert first_sentence("Wrap text into\n  lines. Words stay.") == "Wrap text into lines"


def test_generated_queries_on_tiny_repo(tiny_root: DataRoot) -> None:
    summary = build_queries(tiny_root)
    assert summary.path == tiny_root.queries_path
    table = pq.read_table(summary.path)
    assert table.schema.equals(EVAL_QUERIES_SCHEMA, check_metadata=False)
    queries = {q.text: q for q in read_queries(tiny_root)}
    assert summary.counts["docstring"] >= 30 and summary.counts["name"] >= 10
    assert summary.excluded_positives == 0 and summary.excluded_queries == 0

    q = queries["Count the words in a piece of text"]
    chunk = _chunk_of(tiny_root, "tinylib/textutil.py", 28)  # def word_count
    assert q.origin == "docstring"
    assert q.positives == [chunk["id"]]
    assert q.meta["definitions"][0]["name"] == "word_count"
    assert q.meta["definitions"][0]["line"] == 28
    (mask,) = q.meta["masks"]
    assert mask["chunk_id"] == chunk["id"] and mask["content_hash"] == chunk["content_hash"]
    masked = mask_text(chunk["content"], [(mask["start"], mask["end"])])
    assert "Count the words in a piece of text" in chunk["content"]
    assert "Count the words" not in masked
    assert "def word_count(text: str) -> int:" in masked

    name_q = queries["word count"]
    assert name_q.origin == "name" and name_q.positives == [chunk["id"]]
    # `total_area` is defined in Python and Rust (and TotalArea in Go): one query, all positives
    total = queries["total area"]
    uris = {d["uri"] for d in total.meta["definitions"]}
    assert {"tinylib/geometry/shapes.py", "rust/src/lib.rs", "go/server.go"} <= uris
    assert len(total.positives) >= 3


def test_max_per_origin_is_deterministic(tiny_root: DataRoot) -> None:
    first = build_queries(tiny_root, max_per_origin=5)
    ids1 = [q.query_id for q in read_queries(tiny_root)]
    second = build_queries(tiny_root, max_per_origin=5)
    assert first.counts == second.counts == {"docstring": 5, "name": 5, "user": 0}
    assert ids1 == [q.query_id for q in read_queries(tiny_root)]


def test_user_queries_resolve_uri_lines_and_count_bad_positives(tiny_root: DataRoot, tmp_path: Path) -> None:
    chunk = _chunk_of(tiny_root, "tinylib/config.py", 10)
    user = tmp_path / "user.jsonl"
    user.write_text(
        "\n".join(
            json.dumps(o)
            for o in [
                {
                    "query_id": "u1",
                    "text": "parse a yaml scalar",
                    "positives": [{"uri": "tinylib/config.py", "line": 10}],
                },
                {
                    "query_id": "u2",
                    "text": "only bad positives",
                    "positives": [12345, {"uri": "nope.py", "line": 1}],
                },
                {"query_id": "u3", "text": "by id", "positives": [chunk["id"], 999]},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    summary = build_queries(tiny_root, user_file=user, origins=[])
    assert summary.counts == {"docstring": 0, "name": 0, "user": 2}
    assert summary.excluded_positives == 3
    assert summary.excluded_queries == 1
    assert f"{user}:2: query 'u2' has no positive that is a chunk; excluded" in summary.problems
    assert f"{user}:3: positive 999 of query 'u3' is not a chunk; excluded" in summary.problems
    got = {q.query_id: q.positives for q in read_queries(tiny_root)}
    assert got == {"u1": [chunk["id"]], "u3": [chunk["id"]]}


def test_malformed_user_file_lists_line_numbers(tiny_root: DataRoot, tmp_path: Path) -> None:
    user = tmp_path / "bad.jsonl"
    user.write_text(
        '{"query_id": "a", "text": "x", "positives": [1]}\n'
        "{not json\n"
        '{"query_id": "a", "text": "again", "positives": []}\n'
        '{"query_id": "b", "text": "", "positives": []}\n'
        '{"query_id": "c", "text": "t", "positives": ["str"]}\n',
        encoding="utf-8",
    )
    chunks = chunkstore.read_chunks(tiny_root, ["id", "uri", "start_line", "end_line"])
    with pytest.raises(EvalInputError) as err:
        load_user_queries(user, chunks)
    message = str(err.value)
    assert f"{user}: 4 malformed line(s)" in message
    assert f"{user}:2: invalid JSON" in message
    assert f"{user}:3: duplicate query_id 'a'" in message
    assert f"{user}:4: 'text' must be a non-empty string" in message
    assert f"{user}:5: positive 'str' must be a chunk id or" in message


def test_no_queries_is_an_error(tiny_root: DataRoot) -> None:
    with pytest.raises(EvalInputError, match="no evaluation queries"):
        build_queries(tiny_root, origins=[])
