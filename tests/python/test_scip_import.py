# ruff: noqa: F811  (session fixtures imported from _scip_support are redefined as arguments)
"""SCIP import: a real scip-python index and the committed JSON fixture, checked against the
source text of the fixture package."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _scip_support import PKGDEMO, PKGDEMO_JSON, pkgdemo_index, pkgdemo_repo  # noqa: F401

from python_ext.config import DataRoot
from python_ext.contracts import SCIP_OCCURRENCES_SCHEMA, SCIP_SYMBOLS_SCHEMA
from python_ext.facts.scip import json_reader as scip_json
from python_ext.facts.scip.decode import Document, Metadata, iter_scip_binary
from python_ext.facts.scip.importer import (
    display_name,
    import_scip,
    infer_kind,
    is_local,
    role_name,
    scoped_symbol,
)

PKG = "scip-python python pkgdemo 0 "


def _rows(data_root: DataRoot) -> tuple[list[dict], list[dict]]:
    occ = pq.read_table(data_root.scip_occurrences_path)
    sym = pq.read_table(data_root.scip_symbols_path)
    assert occ.schema.equals(SCIP_OCCURRENCES_SCHEMA)
    assert sym.schema.equals(SCIP_SYMBOLS_SCHEMA)
    return occ.to_pylist(), sym.to_pylist()


def _source_slice(repo: Path, row: dict) -> str:
    lines = (repo / row["uri"]).read_text(encoding="utf-8").split("\n")
    assert row["start_line"] == row["end_line"]
    return lines[row["start_line"] - 1][row["start_char"] : row["end_char"]]


@pytest.fixture(scope="module")
def imported(pkgdemo_index: Path, pkgdemo_repo: Path, tmp_path_factory: pytest.TempPathFactory):
    root = DataRoot(tmp_path_factory.mktemp("scip-data"))
    result = import_scip(root, pkgdemo_index, repo=pkgdemo_repo)
    occ, sym = _rows(root)
    return result, occ, sym


def test_binary_stream_yields_metadata_then_documents(pkgdemo_index: Path) -> None:
    items = list(iter_scip_binary(pkgdemo_index))
    assert isinstance(items[0], Metadata)
    assert items[0].tool_name == "scip-python" and items[0].tool_version == "0.6.6"
    docs = [i for i in items if isinstance(i, Document)]
    assert sorted(d.relative_path for d in docs) == [
        "report.py",
        "shapes/__init__.py",
        "shapes/base.py",
        "shapes/circle.py",
    ]
    assert all(d.offset is not None and d.offset > 0 for d in docs)


def test_summary_counts(imported) -> None:
    result, occ, sym = imported
    assert result.format == "binary" and result.tool == "scip-python 0.6.6"
    assert result.documents == 4
    assert result.occurrences == len(occ) > 50
    assert result.definitions == sum(1 for r in occ if r["role_bits"] & 1)
    assert result.symbols == len(sym) == len({r["symbol"] for r in sym})


@pytest.mark.parametrize(
    ("symbol", "uri", "line", "name"),
    [
        (PKG + "`shapes.base`/Shape#", "shapes/base.py", 4, "Shape"),
        (PKG + "`shapes.base`/Shape#area().", "shapes/base.py", 7, "area"),
        (PKG + "`shapes.circle`/Circle#", "shapes/circle.py", 8, "Circle"),
        (PKG + "`shapes.circle`/unit_circle().", "shapes/circle.py", 19, "unit_circle"),
        (PKG + "report/total_area().", "report.py", 6, "total_area"),
        (PKG + "report/main().", "report.py", 14, "main"),
    ],
)
def test_known_definitions_point_at_their_names(
    imported, pkgdemo_repo: Path, symbol, uri, line, name
) -> None:
    _, occ, _ = imported
    defs = [r for r in occ if r["symbol"] == symbol and r["role"] == "def"]
    assert len(defs) == 1, defs
    row = defs[0]
    assert (row["uri"], row["start_line"], row["role_bits"]) == (uri, line, 1)
    assert _source_slice(pkgdemo_repo, row) == name


def test_every_named_occurrence_matches_the_source_text(imported, pkgdemo_repo: Path) -> None:
    """Lines 1-based, chars 0-based exclusive, in code points (the 🔵 line proves the UTF-16 fix)."""
    _, occ, _ = imported
    checked = 0
    for row in occ:
        name = display_name(row["symbol"])
        if is_local(row["symbol"]) or not name or row["symbol"].endswith("__init__:") or "." in name:
            continue
        assert _source_slice(pkgdemo_repo, row) == name, row
        checked += 1
    assert checked > 40


def test_references_after_non_ascii_text(imported, pkgdemo_repo: Path) -> None:
    _, occ, _ = imported
    lines = (pkgdemo_repo / "report.py").read_text(encoding="utf-8").split("\n")
    emoji_line = next(i for i, text in enumerate(lines, 1) if "🔵" in text)
    refs = [
        r
        for r in occ
        if r["uri"] == "report.py"
        and r["start_line"] == emoji_line
        and r["symbol"].endswith("unit_circle().")
    ]
    assert len(refs) == 1
    assert refs[0]["role"] == "read" and refs[0]["role_bits"] == 8
    assert refs[0]["start_char"] == lines[emoji_line - 1].index("unit_circle")


def test_references_of_a_function(imported) -> None:
    _, occ, _ = imported
    refs = [r for r in occ if r["symbol"] == PKG + "`shapes.circle`/unit_circle()." and r["role"] != "def"]
    assert sorted((r["uri"], r["start_line"]) for r in refs) == [
        ("report.py", 3),
        ("report.py", 15),
        ("report.py", 16),
        ("shapes/__init__.py", 4),
    ]


def test_local_symbols_are_scoped_to_their_document(imported) -> None:
    _, occ, sym = imported
    locals_ = {r["symbol"] for r in occ if is_local(r["symbol"])}
    assert locals_ == {"local report.py:0", "local report.py:1"}
    assert not any(r["symbol"] == "local 0" for r in occ)
    assert {"local report.py:0", "local report.py:1"} <= {r["symbol"] for r in sym}


def test_symbols_keep_documentation_and_derive_kind(imported) -> None:
    _, _, sym = imported
    by_symbol = {r["symbol"]: r for r in sym}
    circle = by_symbol[PKG + "`shapes.circle`/Circle#"]
    assert "A circle given by its radius." in circle["documentation"]
    assert (circle["display_name"], circle["kind"], circle["uri"]) == ("Circle", "Type", "shapes/circle.py")
    assert by_symbol[PKG + "`shapes.circle`/unit_circle()."]["kind"] == "Function"
    assert by_symbol[PKG + "`shapes.base`/Shape#area()."]["kind"] == "Method"
    assert by_symbol[PKG + "`shapes.base`/__init__:"]["kind"] == "Module"
    external = by_symbol["scip-python python python-stdlib 3.11 builtins/print()."]
    assert external["uri"] is None and external["documentation"]


def test_json_fixture_matches_the_binary_index(tmp_path: Path) -> None:
    """The committed JSON (scip print --json shape) imports to the same facts, except its edits."""
    root = DataRoot(tmp_path / "data")
    result = import_scip(root, PKGDEMO_JSON, repo=PKGDEMO)
    occ, sym = _rows(root)
    assert result.format == "json" and result.documents == 4
    prints = [r for r in occ if r["symbol"].endswith("builtins/print().")]
    assert prints and all((r["role"], r["role_bits"]) == ("ref", 0) for r in prints)
    circle_def = next(r for r in occ if r["symbol"] == PKG + "`shapes.circle`/Circle#" and r["role"] == "def")
    assert (
        circle_def["start_line"],
        circle_def["start_char"],
        circle_def["end_line"],
        circle_def["end_char"],
    ) == (
        8,
        6,
        8,
        12,
    )
    circle = next(r for r in sym if r["symbol"] == PKG + "`shapes.circle`/Circle#")
    assert (circle["kind"], circle["display_name"]) == ("Class", "Circle")


def test_json_streams_across_tiny_read_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = DataRoot(tmp_path / "whole")
    import_scip(whole, PKGDEMO_JSON, repo=PKGDEMO)
    monkeypatch.setattr(scip_json, "_CHUNK", 7)
    pieces = DataRoot(tmp_path / "pieces")
    import_scip(pieces, PKGDEMO_JSON, repo=PKGDEMO)
    assert _rows(whole) == _rows(pieces)


@pytest.mark.parametrize(
    ("bits", "role"),
    [(0, "ref"), (1, "def"), (2, "import"), (3, "def"), (4, "write"), (8, "read"), (12, "write"), (16, "ref"),
     (32, "ref"), (40, "read"), (64, "forward_def")],
)  # fmt: skip
def test_role_names(bits: int, role: str) -> None:
    assert role_name(bits) == role


def test_symbol_helpers() -> None:
    assert scoped_symbol("local 7", "a/b.py") == "local a/b.py:7"
    assert scoped_symbol(PKG + "m/f().", "a.py") == PKG + "m/f()."
    assert infer_kind(PKG + "m/C#f().(x)") == "Parameter"
    assert infer_kind(PKG + "m/C#x.") == "Field"
    assert infer_kind(PKG + "m/x.") == "Variable"
    assert display_name(PKG + "`a.b`/__init__:") == "a.b"
    assert display_name(PKG + "m/`weird name`#") == "weird name"


def test_exact_duplicate_occurrences_are_written_once(tmp_path: Path) -> None:
    from python_ext.facts.scip.decode import IndexMessage

    msg = IndexMessage()
    doc = msg.documents.add(relative_path="a.py")
    for _ in range(2):
        doc.occurrences.add(range=[0, 4, 5], symbol="local 1", symbol_roles=1)
    doc.occurrences.add(range=[1, 0, 1], symbol="local 1", symbol_roles=8)
    index = tmp_path / "dup.scip"
    index.write_bytes(msg.SerializeToString())
    root = DataRoot(tmp_path / "data")
    result = import_scip(root, index)
    occ, _ = _rows(root)
    assert result.occurrences == len(occ) == 2
    assert [(r["symbol"], r["role"], r["start_line"], r["end_char"]) for r in occ] == [
        ("local a.py:1", "def", 1, 5),
        ("local a.py:1", "read", 2, 1),
    ]
