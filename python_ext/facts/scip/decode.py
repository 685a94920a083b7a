"""Streaming decoder for binary SCIP indexes (``index.scip``, protobuf message ``scip.Index``).

A SCIP index is one protobuf message ``Index`` whose top-level fields are ``metadata`` (1),
``documents`` (2, repeated) and ``external_symbols`` (3, repeated). Indexers write one top-level
field per document, so the file is read **field by field**: the tag and length varints of each
top-level field are decoded here, and only that field's bytes are handed to the protobuf
runtime. Memory is therefore bounded by the largest single document, not by the file.

The message classes come from a minimal descriptor built in code from the public
``scip.proto`` field numbers (:data:`SCIP_PROTO_SOURCE` shows it as ``.proto`` text). Enum
fields are declared ``int32`` (wire-identical to proto3 enums), so unknown enum values never
fail decoding; the names are mapped with :data:`SYMBOL_KINDS`.

A truncated or malformed file raises :class:`~python_ext.errors.ScipDecodeError` naming the
byte offset of the field that could not be read.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from python_ext.errors import ScipDecodeError

#: The subset of scip.proto this decoder declares (field numbers from sourcegraph/scip).
SCIP_PROTO_SOURCE = """\
syntax = "proto3";
package scip;
message Index { Metadata metadata = 1; repeated Document documents = 2;
                repeated SymbolInformation external_symbols = 3; }
message Metadata { int32 version = 1; ToolInfo tool_info = 2; string project_root = 3;
                   int32 text_document_encoding = 4; }
message ToolInfo { string name = 1; string version = 2; repeated string arguments = 3; }
message Document { string relative_path = 1; repeated Occurrence occurrences = 2;
                   repeated SymbolInformation symbols = 3; string language = 4; string text = 5;
                   int32 position_encoding = 6; }
message Occurrence { repeated int32 range = 1; string symbol = 2; int32 symbol_roles = 3;
                     repeated string override_documentation = 4; int32 syntax_kind = 5;
                     repeated Diagnostic diagnostics = 6; repeated int32 enclosing_range = 7; }
message Diagnostic { int32 severity = 1; string code = 2; string message = 3; string source = 4;
                     repeated int32 tags = 5; }
message SymbolInformation { string symbol = 1; repeated string documentation = 3;
                            repeated Relationship relationships = 4; int32 kind = 5;
                            string display_name = 6; Document signature_documentation = 7;
                            string enclosing_symbol = 8; }
message Relationship { string symbol = 1; bool is_reference = 2; bool is_implementation = 3;
                       bool is_type_definition = 4; bool is_definition = 5; }
"""

#: SymbolInformation.Kind enum values (scip.proto) → names.
SYMBOL_KINDS: dict[int, str] = {
    1: "Array", 2: "Assertion", 3: "AssociatedType", 4: "Attribute", 5: "Axiom", 6: "Boolean",
    7: "Class", 8: "Constant", 9: "Constructor", 10: "DataFamily", 11: "Enum", 12: "EnumMember",
    13: "Event", 14: "Fact", 15: "Field", 16: "File", 17: "Function", 18: "Getter", 19: "Grammar",
    20: "Instance", 21: "Interface", 22: "Key", 23: "Lang", 24: "Lemma", 25: "Macro", 26: "Method",
    27: "MethodReceiver", 28: "Message", 29: "Module", 30: "Namespace", 31: "Null", 32: "Number",
    33: "Object", 34: "Operator", 35: "Package", 36: "PackageObject", 37: "Parameter",
    38: "ParameterLabel", 39: "Pattern", 40: "Predicate", 41: "Property", 42: "Protocol",
    43: "Quasiquoter", 44: "SelfParameter", 45: "Setter", 46: "Signature", 47: "Subscript",
    48: "String", 49: "Struct", 50: "Tactic", 51: "Theorem", 52: "ThisParameter", 53: "Trait",
    54: "Type", 55: "TypeAlias", 56: "TypeClass", 57: "TypeFamily", 58: "TypeParameter",
    59: "Union", 60: "Value", 61: "Variable", 62: "Contract", 63: "Error", 64: "Library",
    65: "Modifier", 66: "AbstractMethod", 67: "MethodSpecification", 68: "ProtocolMethod",
    69: "PureVirtualMethod", 70: "TraitMethod", 71: "TypeClassMethod", 72: "Accessor",
    73: "Delegate", 74: "MethodAlias", 75: "SingletonClass", 76: "SingletonMethod",
    77: "StaticDataMember", 78: "StaticEvent", 79: "StaticField", 80: "StaticMethod",
    81: "StaticProperty", 82: "StaticVariable",
}  # fmt: skip
SYMBOL_KIND_VALUES: dict[str, int] = {name: value for value, name in SYMBOL_KINDS.items()}

#: Document.position_encoding enum (scip.proto PositionEncoding).
POSITION_ENCODINGS: dict[int, str] = {0: "unspecified", 1: "utf-8", 2: "utf-16", 3: "utf-32"}
POSITION_ENCODING_VALUES: dict[str, int] = {
    "UnspecifiedPositionEncoding": 0,
    "UTF8CodeUnitOffsetFromLineStart": 1,
    "UTF16CodeUnitOffsetFromLineStart": 2,
    "UTF32CodeUnitOffsetFromLineStart": 3,
}


# --- decoded shapes shared by the binary and the JSON readers ------------------------------


class Occurrence(NamedTuple):
    """One SCIP occurrence as written by the indexer (0-based ranges, raw role bits)."""

    range: tuple[int, ...]
    symbol: str
    roles: int
    enclosing_range: tuple[int, ...]


class Relationship(NamedTuple):
    """A SymbolInformation relationship to another symbol."""

    symbol: str
    is_reference: bool
    is_implementation: bool
    is_type_definition: bool
    is_definition: bool


class SymbolInfo(NamedTuple):
    """SymbolInformation: documentation, kind (enum value) and relationships of one symbol."""

    symbol: str
    documentation: tuple[str, ...]
    relationships: tuple[Relationship, ...]
    kind: int
    display_name: str
    enclosing_symbol: str


@dataclass
class Document:
    """One decoded SCIP document.

    :param relative_path: repository-relative POSIX path (becomes ``uri``).
    :param where: JSON path of the document in the index (``documents[3]``), for error messages.
    :param offset: byte offset of the document's field in a binary index (None for JSON input).
    """

    relative_path: str
    language: str
    position_encoding: int
    occurrences: list[Occurrence]
    symbols: list[SymbolInfo]
    text: str = ""
    where: str = ""
    offset: int | None = None


@dataclass
class Metadata:
    """Index.metadata: which tool wrote the index and for which project root."""

    tool_name: str = ""
    tool_version: str = ""
    project_root: str = ""
    text_document_encoding: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExternalSymbols:
    """A batch of Index.external_symbols (symbols defined outside the indexed project)."""

    symbols: list[SymbolInfo]
    where: str = ""
    offset: int | None = None


ScipItem = Metadata | Document | ExternalSymbols


# --- protobuf message classes from a descriptor built in code -------------------------------


def _build_messages() -> dict[str, Any]:
    fdp = descriptor_pb2.FileDescriptorProto(name="codeintel_scip_min.proto", package="scip", syntax="proto3")
    f = descriptor_pb2.FieldDescriptorProto
    scalar = {"string": f.TYPE_STRING, "int32": f.TYPE_INT32, "bool": f.TYPE_BOOL}
    spec: dict[str, list[tuple[str, int, str, bool]]] = {
        "Index": [
            ("metadata", 1, "Metadata", False),
            ("documents", 2, "Document", True),
            ("external_symbols", 3, "SymbolInformation", True),
        ],
        "Metadata": [
            ("version", 1, "int32", False),
            ("tool_info", 2, "ToolInfo", False),
            ("project_root", 3, "string", False),
            ("text_document_encoding", 4, "int32", False),
        ],
        "ToolInfo": [
            ("name", 1, "string", False),
            ("version", 2, "string", False),
            ("arguments", 3, "string", True),
        ],
        "Document": [
            ("relative_path", 1, "string", False),
            ("occurrences", 2, "Occurrence", True),
            ("symbols", 3, "SymbolInformation", True),
            ("language", 4, "string", False),
            ("text", 5, "string", False),
            ("position_encoding", 6, "int32", False),
        ],
        "Occurrence": [
            ("range", 1, "int32", True),
            ("symbol", 2, "string", False),
            ("symbol_roles", 3, "int32", False),
            ("override_documentation", 4, "string", True),
            ("syntax_kind", 5, "int32", False),
            ("diagnostics", 6, "Diagnostic", True),
            ("enclosing_range", 7, "int32", True),
        ],
        "Diagnostic": [
            ("severity", 1, "int32", False),
            ("code", 2, "string", False),
            ("message", 3, "string", False),
            ("source", 4, "string", False),
            ("tags", 5, "int32", True),
        ],
        "SymbolInformation": [
            ("symbol", 1, "string", False),
            ("documentation", 3, "string", True),
            ("relationships", 4, "Relationship", True),
            ("kind", 5, "int32", False),
            ("display_name", 6, "string", False),
            ("signature_documentation", 7, "Document", False),
            ("enclosing_symbol", 8, "string", False),
        ],
        "Relationship": [
            ("symbol", 1, "string", False),
            ("is_reference", 2, "bool", False),
            ("is_implementation", 3, "bool", False),
            ("is_type_definition", 4, "bool", False),
            ("is_definition", 5, "bool", False),
        ],
    }
    for message_name, fields in spec.items():
        message = fdp.message_type.add(name=message_name)
        for name, number, type_name, repeated in fields:
            fd = message.field.add(name=name, number=number)
            fd.label = f.LABEL_REPEATED if repeated else f.LABEL_OPTIONAL
            if type_name in scalar:
                fd.type = scalar[type_name]
            else:
                fd.type = f.TYPE_MESSAGE
                fd.type_name = f".scip.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"scip.{name}")) for name in spec
    }


MESSAGES = _build_messages()
IndexMessage = MESSAGES["Index"]
DocumentMessage = MESSAGES["Document"]
SymbolInformationMessage = MESSAGES["SymbolInformation"]
MetadataMessage = MESSAGES["Metadata"]


# --- conversion from protobuf messages ------------------------------------------------------


def symbol_info_from_message(msg: Any) -> SymbolInfo:
    """Convert a ``SymbolInformation`` protobuf message into :class:`SymbolInfo`."""
    return SymbolInfo(
        msg.symbol,
        tuple(msg.documentation),
        tuple(
            Relationship(r.symbol, r.is_reference, r.is_implementation, r.is_type_definition, r.is_definition)
            for r in msg.relationships
        ),
        msg.kind,
        msg.display_name,
        msg.enclosing_symbol,
    )


def document_from_message(msg: Any, where: str = "", offset: int | None = None) -> Document:
    """Convert a ``Document`` protobuf message into :class:`Document`."""
    occurrences = [
        Occurrence(tuple(o.range), o.symbol, o.symbol_roles, tuple(o.enclosing_range))
        for o in msg.occurrences
    ]
    return Document(
        relative_path=msg.relative_path,
        language=msg.language,
        position_encoding=msg.position_encoding,
        occurrences=occurrences,
        symbols=[symbol_info_from_message(s) for s in msg.symbols],
        text=msg.text,
        where=where,
        offset=offset,
    )


def metadata_from_message(msg: Any) -> Metadata:
    """Convert a ``Metadata`` protobuf message into :class:`Metadata`."""
    return Metadata(
        tool_name=msg.tool_info.name,
        tool_version=msg.tool_info.version,
        project_root=msg.project_root,
        text_document_encoding=msg.text_document_encoding,
    )


# --- the streaming wire reader --------------------------------------------------------------

_WIRE_VARINT, _WIRE_I64, _WIRE_LEN, _WIRE_I32 = 0, 1, 2, 5


def _read_varint(fh: BinaryIO, path: Path, what: str) -> int | None:
    """Read one base-128 varint; None at a clean end of file (before the first byte)."""
    start = fh.tell()
    result = 0
    shift = 0
    while True:
        byte = fh.read(1)
        if not byte:
            if shift == 0:
                return None
            raise ScipDecodeError(
                f"{path}: truncated SCIP index: {what} varint at byte {start} is cut off at byte {fh.tell()}",
                hint="the file is incomplete; re-run the indexer (e.g. `indexctl scip index REPO`)",
            )
        b = byte[0]
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result
        shift += 7
        if shift > 63:
            raise ScipDecodeError(
                f"{path}: malformed SCIP index: {what} varint at byte {start} is longer than 10 bytes",
                hint="this is not a SCIP protobuf file (or it is corrupted)",
            )


def iter_scip_binary(path: str | os.PathLike[str]) -> Iterator[ScipItem]:
    """Stream a binary ``index.scip``: yield :class:`Metadata`, then each :class:`Document`
    and :class:`ExternalSymbols` batch in file order.

    Only one top-level field is held in memory at a time.

    :param path: the ``index.scip`` file.
    :raises ScipDecodeError: truncated or malformed input; the message names the byte offset.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb", buffering=1 << 20) as raw:
        fh: BinaryIO = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
        doc_index = 0
        while True:
            field_start = fh.tell()
            tag = _read_varint(fh, path, "field tag")
            if tag is None:
                return
            number, wire = tag >> 3, tag & 7
            if number == 0:
                raise ScipDecodeError(
                    f"{path}: malformed SCIP index: field number 0 at byte {field_start}",
                    hint="this is not a SCIP protobuf file (or it is corrupted)",
                )
            if wire == _WIRE_VARINT:
                _read_varint(fh, path, "field value")
                continue
            if wire in (_WIRE_I64, _WIRE_I32):
                width = 8 if wire == _WIRE_I64 else 4
                if len(fh.read(width)) != width:
                    raise _truncated(path, field_start, number)
                continue
            if wire != _WIRE_LEN:
                raise ScipDecodeError(
                    f"{path}: malformed SCIP index: unsupported wire type {wire} for field {number} "
                    f"at byte {field_start}",
                    hint="this is not a SCIP protobuf file (or it is corrupted)",
                )
            length = _read_varint(fh, path, "length")
            if length is None:
                raise _truncated(path, field_start, number)
            payload_start = fh.tell()
            if payload_start + length > size:
                raise ScipDecodeError(
                    f"{path}: truncated SCIP index: field {number} at byte {field_start} declares "
                    f"{length} bytes but the file ends at byte {size}",
                    hint="the file is incomplete; re-run the indexer (e.g. `indexctl scip index REPO`)",
                )
            payload = fh.read(length)
            if len(payload) != length:
                raise _truncated(path, field_start, number)
            if number == 1:
                yield metadata_from_message(_parse(MetadataMessage, payload, path, field_start, "metadata"))
            elif number == 2:
                msg = _parse(DocumentMessage, payload, path, field_start, f"documents[{doc_index}]")
                yield document_from_message(msg, where=f"documents[{doc_index}]", offset=field_start)
                doc_index += 1
            elif number == 3:
                msg = _parse(SymbolInformationMessage, payload, path, field_start, "external_symbols")
                yield ExternalSymbols(
                    [symbol_info_from_message(msg)], where="external_symbols", offset=field_start
                )


def _parse(cls: Any, payload: bytes, path: Path, offset: int, what: str) -> Any:
    msg = cls()
    try:
        msg.ParseFromString(payload)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ScipDecodeError(
            f"{path}: malformed SCIP index: {what} at byte {offset} does not decode ({exc})",
            hint="the file is corrupted; re-run the indexer (e.g. `indexctl scip index REPO`)",
        ) from exc
    return msg


def _truncated(path: Path, offset: int, number: int) -> ScipDecodeError:
    return ScipDecodeError(
        f"{path}: truncated SCIP index: field {number} at byte {offset} is cut off",
        hint="the file is incomplete; re-run the indexer (e.g. `indexctl scip index REPO`)",
    )


def parse_scip_binary_full(data: bytes) -> Any:
    """Decode a whole index in one ``ParseFromString`` call (the naive, full-load approach).

    Used by the benchmark as the peer of :func:`iter_scip_binary`; memory grows with the file.
    """
    msg = IndexMessage()
    msg.ParseFromString(data)
    return msg
