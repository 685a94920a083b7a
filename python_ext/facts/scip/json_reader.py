"""Streaming reader for the JSON form of a SCIP index (``scip print --json``).

``scip print --json`` serialises the ``scip.Index`` message with snake_case keys, omits empty
fields (``symbol_roles`` is absent for a plain reference), writes ``range`` as 3 or 4 ints and
enum fields (``kind``, ``position_encoding``) as numbers. This reader also accepts the
protobuf-JSON variants (lowerCamelCase keys such as ``relativePath``, enum names such as
``"Function"``), so indexes converted by other tools load too.

Streaming: the top-level object is scanned by hand and each element of ``documents`` and
``external_symbols`` is decoded on its own with :meth:`json.JSONDecoder.raw_decode` from a
sliding text buffer, so memory is bounded by the largest single document, not by the file.

Errors raise :class:`~python_ext.errors.ScipDecodeError` naming the JSON path
(``documents[3].occurrences[12].range``) or, for a syntax error, the character offset, line and
column.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from python_ext.errors import ScipDecodeError
from python_ext.facts.scip.decode import (
    POSITION_ENCODING_VALUES,
    SYMBOL_KIND_VALUES,
    Document,
    ExternalSymbols,
    Metadata,
    Occurrence,
    Relationship,
    ScipItem,
    SymbolInfo,
)

_CHUNK = 1 << 20
_WS = " \t\r\n"
_HINT = "the JSON must be the output of `scip print --json INDEX` (one object with `documents`)"


class _Reader:
    """A sliding window over a text file that hands out complete JSON values."""

    def __init__(self, fh: TextIO, path: Path) -> None:
        self.fh = fh
        self.path = path
        self.buf = ""
        self.pos = 0
        self.base = 0  # characters dropped from the front of buf
        self.lines = 0  # newlines dropped from the front of buf
        self.line_start = 0  # absolute offset just after the last dropped newline
        self.eof = False
        self.decoder = json.JSONDecoder()

    def _fill(self, want: int = _CHUNK) -> bool:
        if self.eof:
            return False
        if self.pos > 0:
            dropped = self.buf[: self.pos]
            newlines = dropped.count("\n")
            if newlines:
                self.lines += newlines
                self.line_start = self.base + dropped.rindex("\n") + 1
            self.base += self.pos
            self.buf = self.buf[self.pos :]
            self.pos = 0
        chunk = self.fh.read(max(want, _CHUNK))
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def offset(self, pos: int | None = None) -> int:
        return self.base + (self.pos if pos is None else pos)

    def where(self, pos: int | None = None) -> str:
        absolute = self.offset(pos)
        head = self.buf[: (self.pos if pos is None else pos)]
        newlines = head.count("\n")
        line = self.lines + newlines + 1
        start = self.base + head.rindex("\n") + 1 if newlines else self.line_start
        return f"char {absolute} (line {line}, column {absolute - start + 1})"

    def peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def expect(self, chars: str, context: str) -> str:
        ch = self.peek()
        if not ch or ch not in chars:
            found = repr(ch) if ch else "end of file"
            raise ScipDecodeError(
                f"{self.path}: {context}: expected {' or '.join(repr(c) for c in chars)} at "
                f"{self.where()}, found {found}",
                hint=_HINT if ch else "the file is truncated; export it again with `scip print --json`",
            )
        self.pos += 1
        return ch

    def value(self, context: str) -> Any:
        """Decode one complete JSON value starting at the current position."""
        self.peek()
        want = _CHUNK
        while True:
            try:
                obj, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                incomplete = exc.pos >= len(self.buf) - 1 or exc.msg.startswith("Unterminated string")
                if incomplete and self._fill(want):
                    want *= 2
                    continue
                if incomplete:
                    raise ScipDecodeError(
                        f"{self.path}: {context}: truncated JSON at {self.where(len(self.buf))} "
                        f"({exc.msg.removesuffix(' starting at')})",
                        hint="the file is truncated; export it again with `scip print --json`",
                    ) from exc
                raise ScipDecodeError(
                    f"{self.path}: {context}: invalid JSON at {self.where(exc.pos)}: {exc.msg}",
                    hint=_HINT,
                ) from exc
            if end >= len(self.buf) and not self.eof and self._fill(want):
                want *= 2
                continue  # a number may continue in the next chunk: decode again
            self.pos = end
            return obj


def iter_scip_json(path: str | os.PathLike[str]) -> Iterator[ScipItem]:
    """Stream a ``scip print --json`` file: yield :class:`Metadata`, each :class:`Document`
    and :class:`ExternalSymbols` batch in file order.

    :param path: the JSON file.
    :raises ScipDecodeError: invalid or truncated JSON, or a field of the wrong shape; the
        message names the JSON path (``documents[3].occurrences[12].range``).
    """
    path = Path(path)
    with open(path, encoding="utf-8") as fh:
        reader = _Reader(fh, path)
        reader.expect("{", "index")
        if reader.peek() == "}":
            reader.pos += 1
        else:
            while True:
                key = reader.value("index key")
                if not isinstance(key, str):
                    raise ScipDecodeError(f"{path}: index: object key at {reader.where()} is not a string")
                reader.expect(":", f"index.{key}")
                if key in ("documents", "external_symbols", "externalSymbols"):
                    yield from _iter_array(reader, key)
                elif key == "metadata":
                    yield _metadata(reader.value("metadata"), path)
                else:
                    reader.value(key)  # unknown top-level field: decoded and ignored
                if reader.expect(",}", "index") == "}":
                    break
        if reader.peek():
            raise ScipDecodeError(
                f"{path}: unexpected data after the index object at {reader.where()}", hint=_HINT
            )


def _iter_array(reader: _Reader, key: str) -> Iterator[ScipItem]:
    name = "external_symbols" if key == "externalSymbols" else key
    reader.expect("[", name)
    if reader.peek() == "]":
        reader.pos += 1
        return
    index = 0
    while True:
        where = f"{name}[{index}]"
        obj = reader.value(where)
        if name == "documents":
            yield document_from_json(obj, where, reader.path)
        else:
            yield ExternalSymbols([symbol_from_json(obj, where, reader.path)], where=where)
        index += 1
        if reader.expect(",]", name) == "]":
            return


# --- field conversion with JSON-path errors -------------------------------------------------


def _get(obj: dict[str, Any], snake: str, default: Any = None) -> Any:
    if snake in obj:
        return obj[snake]
    parts = snake.split("_")
    camel = parts[0] + "".join(p.title() for p in parts[1:])
    return obj.get(camel, default)


def _bad(path: Path, where: str, message: str) -> ScipDecodeError:
    return ScipDecodeError(f"{path}: {where}: {message}", hint=_HINT)


def _str(obj: dict[str, Any], key: str, where: str, path: Path, required: bool = False) -> str:
    value = _get(obj, key)
    if value is None:
        if required:
            raise _bad(path, f"{where}.{key}", "missing (required)")
        return ""
    if not isinstance(value, str):
        raise _bad(path, f"{where}.{key}", f"expected a string, got {type(value).__name__}")
    return value


def _int(obj: dict[str, Any], key: str, where: str, path: Path, names: dict[str, int] | None = None) -> int:
    value = _get(obj, key)
    if value is None:
        return 0
    if isinstance(value, str) and names is not None:
        if value not in names:
            raise _bad(path, f"{where}.{key}", f"unknown enum name {value!r}")
        return names[value]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(path, f"{where}.{key}", f"expected an integer, got {json.dumps(value)[:40]}")
    return value


def _list(obj: dict[str, Any], key: str, where: str, path: Path) -> list[Any]:
    value = _get(obj, key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(path, f"{where}.{key}", f"expected a list, got {type(value).__name__}")
    return value


def _ints(obj: dict[str, Any], key: str, where: str, path: Path) -> tuple[int, ...]:
    values = _list(obj, key, where, path)
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int):
            raise _bad(path, f"{where}.{key}[{i}]", f"expected an integer, got {json.dumps(v)[:40]}")
    return tuple(values)


def _object(value: Any, where: str, path: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(path, where, f"expected an object, got {type(value).__name__}")
    return value


def symbol_from_json(obj: Any, where: str, path: Path) -> SymbolInfo:
    """Convert one JSON ``SymbolInformation`` object (errors name ``where``)."""
    obj = _object(obj, where, path)
    docs = _list(obj, "documentation", where, path)
    for i, d in enumerate(docs):
        if not isinstance(d, str):
            raise _bad(path, f"{where}.documentation[{i}]", "expected a string")
    rels = []
    for i, rel in enumerate(_list(obj, "relationships", where, path)):
        rw = f"{where}.relationships[{i}]"
        rel = _object(rel, rw, path)
        rels.append(
            Relationship(
                _str(rel, "symbol", rw, path, required=True),
                bool(_get(rel, "is_reference", False)),
                bool(_get(rel, "is_implementation", False)),
                bool(_get(rel, "is_type_definition", False)),
                bool(_get(rel, "is_definition", False)),
            )
        )
    return SymbolInfo(
        _str(obj, "symbol", where, path, required=True),
        tuple(docs),
        tuple(rels),
        _int(obj, "kind", where, path, SYMBOL_KIND_VALUES),
        _str(obj, "display_name", where, path),
        _str(obj, "enclosing_symbol", where, path),
    )


def document_from_json(obj: Any, where: str, path: Path) -> Document:
    """Convert one JSON ``Document`` object (errors name the JSON path under ``where``)."""
    obj = _object(obj, where, path)
    occurrences = []
    for i, occ in enumerate(_list(obj, "occurrences", where, path)):
        ow = f"{where}.occurrences[{i}]"
        occ = _object(occ, ow, path)
        occurrences.append(
            Occurrence(
                _ints(occ, "range", ow, path),
                _str(occ, "symbol", ow, path),
                _int(occ, "symbol_roles", ow, path),
                _ints(occ, "enclosing_range", ow, path),
            )
        )
    symbols = [
        symbol_from_json(s, f"{where}.symbols[{i}]", path)
        for i, s in enumerate(_list(obj, "symbols", where, path))
    ]
    return Document(
        relative_path=_str(obj, "relative_path", where, path, required=True),
        language=_str(obj, "language", where, path),
        position_encoding=_int(obj, "position_encoding", where, path, POSITION_ENCODING_VALUES),
        occurrences=occurrences,
        symbols=symbols,
        text=_str(obj, "text", where, path),
        where=where,
    )


def _metadata(obj: Any, path: Path) -> Metadata:
    obj = _object(obj, "metadata", path)
    tool = _object(_get(obj, "tool_info", {}) or {}, "metadata.tool_info", path)
    encoding = _get(obj, "text_document_encoding", 0)
    return Metadata(
        tool_name=_str(tool, "name", "metadata.tool_info", path),
        tool_version=_str(tool, "version", "metadata.tool_info", path),
        project_root=_str(obj, "project_root", "metadata", path),
        text_document_encoding={"UTF8": 1, "UTF16": 2}.get(encoding, encoding)
        if isinstance(encoding, str)
        else int(encoding),
    )
