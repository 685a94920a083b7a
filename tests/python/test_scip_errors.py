# ruff: noqa: F811  (session fixtures imported from _scip_support are redefined as arguments)
"""Malformed and truncated SCIP inputs: exact messages (byte offset / JSON path), nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _scip_support import PKGDEMO_JSON, pkgdemo_index, pkgdemo_repo  # noqa: F401

from python_ext.config import DataRoot
from python_ext.errors import InputError, ScipDecodeError
from python_ext.facts.scip.importer import import_scip


@pytest.fixture
def published(tmp_path: Path) -> DataRoot:
    """A data root with previously published SCIP files (must survive a failed import)."""
    root = DataRoot(tmp_path / "data")
    import_scip(root, PKGDEMO_JSON)
    return root


def _snapshot(root: DataRoot) -> dict[str, bytes]:
    scip_dir = root.root / "scip"
    return {p.name: p.read_bytes() for p in sorted(scip_dir.iterdir())}


def _fails(index: Path, root: DataRoot) -> str:
    before = _snapshot(root)
    with pytest.raises(ScipDecodeError) as info:
        import_scip(root, index)
    assert _snapshot(root) == before, "a failed import must leave the published files untouched"
    return info.value.message


def test_truncated_binary_names_the_byte_offset(
    pkgdemo_index: Path, published: DataRoot, tmp_path: Path
) -> None:
    data = pkgdemo_index.read_bytes()
    cut = tmp_path / "cut.scip"
    cut.write_bytes(data[: len(data) // 2])
    message = _fails(cut, published)
    assert message.startswith(f"{cut}: truncated SCIP index: field 2 at byte ")
    offset = int(message.split("at byte ")[1].split()[0])
    assert 0 < offset < len(data) // 2
    assert message.endswith(f"but the file ends at byte {len(data) // 2}")


def test_binary_cut_inside_a_varint(tmp_path: Path, published: DataRoot) -> None:
    bad = tmp_path / "varint.scip"
    bad.write_bytes(b"\x12\x80")  # documents field, length varint with its continuation bit set
    assert (
        _fails(bad, published) == f"{bad}: truncated SCIP index: length varint at byte 1 is cut off at byte 2"
    )


def test_binary_bad_wire_type(tmp_path: Path, published: DataRoot) -> None:
    bad = tmp_path / "wire.scip"
    bad.write_bytes(b"\x0f\x00")  # field 1, wire type 7
    assert (
        _fails(bad, published)
        == f"{bad}: malformed SCIP index: unsupported wire type 7 for field 1 at byte 0"
    )


def test_binary_document_that_does_not_decode(tmp_path: Path, published: DataRoot) -> None:
    bad = tmp_path / "doc.scip"
    bad.write_bytes(b"\x12\x03\xff\xff\xff")
    message = _fails(bad, published)
    assert message.startswith(f"{bad}: malformed SCIP index: documents[0] at byte 0 does not decode (")


def test_binary_range_with_two_values(tmp_path: Path, published: DataRoot) -> None:
    from python_ext.facts.scip.decode import IndexMessage

    msg = IndexMessage()
    doc = msg.documents.add(relative_path="a.py")
    doc.occurrences.add(range=[0, 1, 2], symbol="x", symbol_roles=1)
    doc.occurrences.add(range=[3, 4], symbol="y")
    bad = tmp_path / "range.scip"
    bad.write_bytes(msg.SerializeToString())
    assert _fails(bad, published) == (
        f"{bad}: documents[0].occurrences[1].range: has 2 values [3, 4]; need 3 or 4 (document at byte 0)"
    )


def _json_index(tmp_path: Path, obj: object, name: str = "bad.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def test_json_range_error_names_the_path(tmp_path: Path, published: DataRoot) -> None:
    doc = {
        "relative_path": "a.py",
        "occurrences": [{"range": [0, 0, 1], "symbol": "s"}, {"range": [1, 2], "symbol": "t"}],
    }
    bad = _json_index(tmp_path, {"documents": [{"relative_path": "z.py"}, doc]})
    assert (
        _fails(bad, published)
        == f"{bad}: documents[1].occurrences[1].range: has 2 values [1, 2]; need 3 or 4"
    )


def test_json_wrong_type_names_the_path(tmp_path: Path, published: DataRoot) -> None:
    doc = {
        "relative_path": "a.py",
        "occurrences": [{"range": [0, 0, 1], "symbol": "s", "symbol_roles": "def"}],
    }
    bad = _json_index(tmp_path, {"documents": [doc]})
    assert (
        _fails(bad, published)
        == f'{bad}: documents[0].occurrences[0].symbol_roles: expected an integer, got "def"'
    )


def test_json_missing_relative_path(tmp_path: Path, published: DataRoot) -> None:
    bad = _json_index(tmp_path, {"documents": [{"occurrences": []}]})
    assert _fails(bad, published) == f"{bad}: documents[0].relative_path: missing (required)"


def test_json_truncated(tmp_path: Path, published: DataRoot) -> None:
    text = PKGDEMO_JSON.read_text(encoding="utf-8")
    bad = tmp_path / "cut.json"
    bad.write_text(text[: len(text) // 2], encoding="utf-8")
    message = _fails(bad, published)
    assert message.startswith(f"{bad}: documents[")
    assert ": truncated JSON at char " in message


def test_json_syntax_error_names_line_and_column(tmp_path: Path, published: DataRoot) -> None:
    bad = tmp_path / "syntax.json"
    bad.write_text('{"documents": [\n  {"relative_path": "a.py",, "occurrences": []}\n]}\n', encoding="utf-8")
    assert _fails(bad, published) == (
        f"{bad}: documents[0]: invalid JSON at char 43 (line 2, column 28): "
        "Expecting property name enclosed in double quotes"
    )


def test_missing_index_is_an_input_error(tmp_path: Path, published: DataRoot) -> None:
    with pytest.raises(InputError) as info:
        import_scip(published, tmp_path / "nope.scip")
    assert info.value.message == f"SCIP index not found: {tmp_path / 'nope.scip'}"
    assert (
        info.value.hint
        == "create one with `indexctl scip index REPO` or pass the path of an existing index.scip"
    )


def test_binary_reader_streams_document_by_document(tmp_path: Path) -> None:
    """Documents are yielded before later bytes are read: a corrupt tail only fails at its turn."""
    from python_ext.facts.scip.decode import Document, IndexMessage, iter_scip_binary

    msg = IndexMessage()
    for name in ("a.py", "b.py"):
        msg.documents.add(relative_path=name).occurrences.add(range=[0, 0, 1], symbol="s", symbol_roles=1)
    path = tmp_path / "stream.scip"
    path.write_bytes(msg.SerializeToString() + b"\x12\x05ab")
    items = iter_scip_binary(path)
    first, second = next(items), next(items)
    assert isinstance(first, Document) and isinstance(second, Document)
    assert (first.relative_path, second.relative_path) == ("a.py", "b.py")
    with pytest.raises(ScipDecodeError, match=r"field 2 at byte \d+ declares 5 bytes but the file ends"):
        next(items)


def test_json_reader_streams_document_by_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from python_ext.facts.scip import json_reader as scip_json
    from python_ext.facts.scip.decode import Document

    monkeypatch.setattr(scip_json, "_CHUNK", 16)
    docs = [
        {"relative_path": f"f{i}.py", "occurrences": [{"range": [i, 0, 3], "symbol": "s"}]} for i in range(3)
    ]
    path = tmp_path / "stream.json"
    path.write_text(json.dumps({"documents": docs})[:-3] + "}, {oops", encoding="utf-8")
    items = scip_json.iter_scip_json(path)
    first = [next(items) for _ in range(3)]
    assert all(isinstance(d, Document) for d in first)
    assert [d.relative_path for d in first] == ["f0.py", "f1.py", "f2.py"]
    with pytest.raises(
        ScipDecodeError, match=r"documents\[3\]: invalid JSON at char \d+ \(line 1, column \d+\)"
    ):
        next(items)
