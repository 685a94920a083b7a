"""Import a SCIP index (binary ``index.scip`` or ``scip print --json``) into Parquet facts.

Writes ``scip_occurrences.parquet`` and ``scip_symbols.parquet`` (docs/contracts.md, schemas in
:mod:`python_ext.contracts`) under the data root. Conventions applied here:

* **positions** — SCIP ranges are 0-based ``[startLine, startChar, endChar]`` or
  ``[startLine, startChar, endLine, endChar]``. Lines become 1-based inclusive (SCIP line 0 →
  1); characters stay 0-based with an exclusive end. When the source text is available (``repo``
  given, or ``Document.text`` embedded) and a line holds non-ASCII text, character offsets are
  converted from the document's position encoding (UTF-8 bytes, UTF-16 code units — the default
  when the encoding is unspecified, as pyright-based indexers count in UTF-16 — or UTF-32) to
  Unicode code points, i.e. Python ``str`` indices.
* **roles** — ``role_bits`` keeps the raw ``symbol_roles`` bitset; ``role`` is the primary role
  by precedence ``def`` > ``import`` > ``write`` > ``read`` > ``forward_def``, and ``ref`` when
  none of these bits is set (plain references omit ``symbol_roles``).
* **local symbols** — ``local N`` is only unique inside its document, so it is rewritten as
  ``local <uri>:N`` (e.g. ``local pkg/mod.py:3``) everywhere (occurrences, symbols, edges).
* **symbols** — one row per symbol: the document's ``SymbolInformation`` (``uri`` = that
  document), the index's ``external_symbols`` (``uri`` null), and a derived row for a defined
  symbol that has no ``SymbolInformation``. ``documentation`` joins the markdown strings with a
  blank line. When the indexer leaves ``kind``/``display_name`` empty (scip-python 0.6 does), they
  are derived from the symbol's last descriptor (see :func:`infer_kind`).
* occurrences without a symbol (pure syntax highlighting) are skipped, and an exact duplicate
  (same symbol, roles and range in one document) is written once, so
  ``(symbol, uri, role_bits, range)`` identifies a row.

Both outputs are written through :func:`python_ext.atomic.atomic_path` in row-group batches:
memory stays bounded and a failure leaves the previously published files untouched.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from python_ext.atomic import atomic_path
from python_ext.config import DataRootLike, resolve_data_root
from python_ext.contracts import SCIP_OCCURRENCES_SCHEMA, SCIP_ROLE_BITS, SCIP_SYMBOLS_SCHEMA
from python_ext.errors import InputError, ScipDecodeError
from python_ext.facts.scip.decode import (
    SYMBOL_KINDS,
    Document,
    ExternalSymbols,
    Metadata,
    ScipItem,
    SymbolInfo,
    iter_scip_binary,
)
from python_ext.facts.scip.json_reader import iter_scip_json
from python_ext.lock import writes_data_root
from python_ext.progress import NULL_PROGRESS, Reporter

BATCH_ROWS = 65_536

#: Precedence used to name an occurrence's primary role.
ROLE_PRECEDENCE: tuple[str, ...] = ("def", "import", "write", "read", "forward_def")


# --- symbol helpers -------------------------------------------------------------------------


#: role_bits → role name, filled as bit combinations are met.
_ROLE_NAMES: dict[int, str] = {}


def role_name(bits: int) -> str:
    """Primary role name of a ``symbol_roles`` bitset (``ref`` when no role bit is set)."""
    for name in ROLE_PRECEDENCE:
        if bits & SCIP_ROLE_BITS[name]:
            return name
    return "ref"


def is_local(symbol: str) -> bool:
    """True for a document-scoped SCIP symbol (``local N``, or its rewritten form)."""
    return symbol.startswith("local ")


def scoped_symbol(symbol: str, uri: str) -> str:
    """Make a document-local symbol globally unique: ``local 3`` in ``a.py`` → ``local a.py:3``."""
    if symbol.startswith("local "):
        return f"local {uri}:{symbol[6:]}"
    return symbol


def last_descriptor(symbol: str) -> tuple[str, str]:
    """Split off the last descriptor of a global SCIP symbol: ``(name, suffix)``.

    Suffixes: ``/`` namespace, ``#`` type, ``.`` term, ``().`` method, ``(x)`` parameter,
    ``[x]`` type parameter, ``:`` meta, ``!`` macro. Returns ``("", "")`` for locals.
    """
    if is_local(symbol) or not symbol:
        return "", ""
    s = symbol
    if s.endswith(")."):
        # method: name(disambiguator).
        open_at = _matching_open(s, len(s) - 2, "(")
        return _unescape(_name_before(s, open_at)), "()."
    last = s[-1]
    if last == ")":
        open_at = _matching_open(s, len(s) - 1, "(")
        return _unescape(s[open_at + 1 : -1]), "()"
    if last == "]":
        open_at = _matching_open(s, len(s) - 1, "[")
        return _unescape(s[open_at + 1 : -1]), "[]"
    if last in "/#.:!":
        return _unescape(_name_before(s, len(s) - 1)), last
    return "", ""


def _matching_open(s: str, close_at: int, opener: str) -> int:
    i = close_at - 1
    while i >= 0 and s[i] != opener:
        i -= 1
    return max(i, 0)


def _name_before(s: str, end: int) -> str:
    """The descriptor name ending just before index ``end`` (handles `backtick` escapes)."""
    if end > 0 and s[end - 1] == "`":
        i = end - 2
        while i >= 0:
            if s[i] == "`" and (i == 0 or s[i - 1] != "`"):
                return s[i:end]
            i -= 1
        return s[:end]
    i = end - 1
    while i >= 0 and (s[i].isalnum() or s[i] in "_+-$"):
        i -= 1
    return s[i + 1 : end]


def _unescape(name: str) -> str:
    if len(name) >= 2 and name[0] == "`" and name[-1] == "`":
        return name[1:-1].replace("``", "`")
    return name


def symbol_parent(symbol: str) -> str:
    """The symbol with its last descriptor removed ('' for locals or package-level symbols)."""
    _, suffix = last_descriptor(symbol)
    if not suffix:
        return ""
    if suffix == "().":
        open_at = _matching_open(symbol, len(symbol) - 2, "(")
        return symbol[: open_at - len(_name_before(symbol, open_at))]
    if suffix in ("()", "[]"):
        return symbol[: symbol.rfind("(" if suffix == "()" else "[")]
    return symbol[: len(symbol) - 1 - len(_name_before(symbol, len(symbol) - 1))]


def infer_kind(symbol: str) -> str | None:
    """A kind name derived from the last descriptor when the indexer gives none.

    ``/`` → Namespace, ``#`` → Type, ``().`` → Method (under a type) or Function, ``.`` → Field
    (under a type) or Variable, ``(x)`` → Parameter, ``[x]`` → TypeParameter, ``!`` → Macro,
    ``:`` → Module for scip-python's ``__init__:`` module symbols, else Meta; locals → Local.
    """
    if is_local(symbol):
        return "Local"
    name, suffix = last_descriptor(symbol)
    if suffix == "().":
        return "Method" if symbol_parent(symbol).endswith("#") else "Function"
    if suffix == ".":
        return "Field" if symbol_parent(symbol).endswith("#") else "Variable"
    if suffix == ":":
        return "Module" if name == "__init__" else "Meta"
    return {"/": "Namespace", "#": "Type", "()": "Parameter", "[]": "TypeParameter", "!": "Macro"}.get(suffix)


def display_name(symbol: str) -> str | None:
    """Display name derived from the symbol: the last descriptor's name (module name for
    ``__init__:`` module symbols); None for locals."""
    name, suffix = last_descriptor(symbol)
    if suffix == ":" and name == "__init__":
        parent_name, _ = last_descriptor(symbol_parent(symbol))
        return parent_name or name
    return name or None


def is_callable_symbol(symbol: str) -> bool:
    """True when the symbol's last descriptor is a method/function (``().``)."""
    return last_descriptor(symbol)[1] == "()."


def is_module_symbol(symbol: str) -> bool:
    """True for a module/namespace symbol (``…/`` or scip-python's ``…/__init__:``)."""
    name, suffix = last_descriptor(symbol)
    return suffix == "/" or (suffix == ":" and name == "__init__")


# --- positions ------------------------------------------------------------------------------


def to_code_points(line: str, offset: int, encoding: int) -> int:
    """Convert a character offset in ``encoding`` (1 UTF-8, 2/0 UTF-16, 3 UTF-32) to str index."""
    if encoding == 3 or line.isascii():
        return offset
    if encoding == 1:
        return len(line.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))
    units = 0
    for i, ch in enumerate(line):
        if units >= offset:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line) + max(0, offset - units)


class SourceLines:
    """The lines of one document's source text, for character-offset conversion.

    ``nonascii`` holds the (0-based) numbers of the lines with non-ASCII text: only their
    offsets need converting.
    """

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.nonascii = (
            frozenset()
            if text.isascii()
            else frozenset(i for i, line in enumerate(self.lines) if not line.isascii())
        )

    def line(self, number: int) -> str:
        return self.lines[number] if 0 <= number < len(self.lines) else ""


def repository_file(repo: Path, relative_path: str) -> Path | None:
    """``repo / relative_path`` when it is a regular file that stays inside ``repo`` once
    symlinks are resolved; None otherwise (a symlink out of the repository, a FIFO, a folder).
    Text from outside the repository is never read into the data root."""
    file = repo / relative_path
    try:
        resolved = file.resolve()
        if not resolved.is_relative_to(repo.resolve()) or not stat.S_ISREG(resolved.stat().st_mode):
            return None
    except (OSError, RuntimeError):
        return None
    return file


def is_relative_posix_path(path: str) -> bool:
    """The uri rule of docs/contracts.md: not empty, not absolute, no backslash, no ``..``."""
    return bool(path) and not path.startswith("/") and "\\" not in path and ".." not in path.split("/")


def load_source(doc: Document, repo: Path | None) -> SourceLines | None:
    """Source lines of ``doc`` from ``repo`` (preferred) or the embedded ``Document.text``."""
    if repo is not None:
        file = repository_file(repo, doc.relative_path)
        if file is not None:
            try:
                return SourceLines(file.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                pass
    if doc.text:
        return SourceLines(doc.text)
    return None


# --- reading --------------------------------------------------------------------------------


def detect_format(path: str | os.PathLike[str]) -> str:
    """``json`` when the file starts with ``{`` (after whitespace), else ``binary``."""
    with open(path, "rb") as fh:
        head = fh.read(64).lstrip()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    return "json" if head.startswith(b"{") else "binary"


def iter_scip(path: str | os.PathLike[str], fmt: str = "auto") -> Iterator[ScipItem]:
    """Stream the items of a SCIP index in either format.

    :param path: ``index.scip`` or a ``scip print --json`` file.
    :param fmt: ``auto`` (default; sniffed by :func:`detect_format`), ``binary`` or ``json``.
    :raises InputError: the file does not exist.
    :raises ScipDecodeError: malformed or truncated input.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"SCIP index not found: {path}",
            hint="create one with `indexctl scip index REPO` or pass the path of an existing index.scip",
        )
    chosen = detect_format(path) if fmt == "auto" else fmt
    if chosen == "json":
        return iter_scip_json(path)
    if chosen == "binary":
        return iter_scip_binary(path)
    raise InputError(f"unknown SCIP format {fmt!r}", hint="use --format auto, binary or json")


# --- conversion -----------------------------------------------------------------------------


class DocumentObserver(Protocol):
    """Something fed every decoded document during an import (e.g. the SCIP edge collector)."""

    def add_document(self, doc: Document, source: SourceLines | None) -> None: ...

    def add_symbols(self, symbols: Sequence[SymbolInfo], uri: str | None) -> None: ...


def _range_error(index: Path, doc: Document, i: int, key: str, message: str) -> ScipDecodeError:
    at = f" (document at byte {doc.offset})" if doc.offset is not None else ""
    return ScipDecodeError(
        f"{index}: {doc.where}.occurrences[{i}].{key}: {message}{at}",
        hint="the indexer wrote an invalid range; SCIP ranges are [line, char, endChar] or "
        "[line, char, endLine, endChar], 0-based",
    )


def check_range(values: tuple[int, ...], index: Path, doc: Document, i: int, key: str = "range") -> None:
    """Validate a SCIP range (3 or 4 non-negative ints, end not before start)."""
    if len(values) not in (3, 4):
        raise _range_error(index, doc, i, key, f"has {len(values)} values {list(values)}; need 3 or 4")
    if min(values) < 0:
        raise _range_error(index, doc, i, key, f"has a negative value {list(values)}")
    start = (values[0], values[1])
    end = (values[2], values[3]) if len(values) == 4 else (values[0], values[2])
    if end < start:
        raise _range_error(index, doc, i, key, f"ends before it starts {list(values)}")


def occurrence_rows(
    doc: Document, index: Path, source: SourceLines | None
) -> tuple[dict[str, list[Any]], list[tuple[str, int, int]]]:
    """Convert one document's occurrences to contract columns; also return its definitions
    as ``(symbol, start_line, end_line)`` (converted, 1-based)."""
    uri = doc.relative_path
    cols: dict[str, list[Any]] = {name: [] for name in SCIP_OCCURRENCES_SCHEMA.names}
    symbol_col, role_col, bits_col = cols["symbol"], cols["role"], cols["role_bits"]
    sl_col, sc_col, el_col, ec_col = (
        cols["start_line"],
        cols["start_char"],
        cols["end_line"],
        cols["end_char"],
    )
    defs: list[tuple[str, int, int]] = []
    seen: set[tuple[str, int, int, int, int, int]] = set()
    encoding = doc.position_encoding
    nonascii = source.nonascii if source is not None else frozenset()
    roles = _ROLE_NAMES
    for i, occ in enumerate(doc.occurrences):
        if not occ.symbol:
            continue
        r = occ.range
        if len(r) == 3:
            if r[0] < 0 or r[1] < 0 or r[2] < r[1]:
                check_range(r, index, doc, i)
            start_line, start_char, end_line, end_char = r[0], r[1], r[0], r[2]
        elif len(r) == 4:
            if min(r) < 0 or (r[2], r[3]) < (r[0], r[1]):
                check_range(r, index, doc, i)
            start_line, start_char, end_line, end_char = r
        else:
            check_range(r, index, doc, i)
            raise AssertionError("unreachable")
        if nonascii and (start_line in nonascii or end_line in nonascii):
            start_char = to_code_points(source.line(start_line), start_char, encoding)  # type: ignore[union-attr]
            end_char = to_code_points(source.line(end_line), end_char, encoding)  # type: ignore[union-attr]
        symbol = occ.symbol
        if symbol.startswith("local "):
            symbol = scoped_symbol(symbol, uri)
        bits = occ.roles
        key = (symbol, bits, start_line, start_char, end_line, end_char)
        if key in seen:
            continue  # an exact duplicate carries nothing new (and would break the row key)
        seen.add(key)
        symbol_col.append(symbol)
        role = roles.get(bits)
        if role is None:
            role = roles[bits] = role_name(bits)
        role_col.append(role)
        bits_col.append(bits)
        sl_col.append(start_line + 1)
        sc_col.append(start_char)
        el_col.append(end_line + 1)
        ec_col.append(end_char)
        if bits & 1:
            defs.append((symbol, start_line + 1, end_line + 1))
    cols["uri"] = [uri] * len(symbol_col)
    return cols, defs


def symbol_row(info: SymbolInfo, uri: str | None) -> dict[str, Any]:
    """One ``scip_symbols`` row (symbol already scoped)."""
    symbol = scoped_symbol(info.symbol, uri) if uri is not None else info.symbol
    kind = SYMBOL_KINDS.get(info.kind) if info.kind else None
    return {
        "symbol": symbol,
        "display_name": info.display_name or display_name(symbol),
        "kind": kind or infer_kind(symbol),
        "documentation": "\n\n".join(info.documentation) if info.documentation else None,
        "uri": uri,
    }


class _BatchWriter:
    """Accumulate columns and flush them to a ParquetWriter in row groups."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.schema = schema
        self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        self.cols: dict[str, list[Any]] = {name: [] for name in schema.names}
        self.pending = 0
        self.rows = 0

    def extend(self, cols: dict[str, list[Any]]) -> None:
        n = len(next(iter(cols.values()))) if cols else 0
        if not n:
            return
        for name in self.schema.names:
            self.cols[name].extend(cols[name])
        self.pending += n
        if self.pending >= BATCH_ROWS:
            self.flush()

    def append(self, row: dict[str, Any]) -> None:
        for name in self.schema.names:
            self.cols[name].append(row[name])
        self.pending += 1
        if self.pending >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.writer.write_table(pa.table(self.cols, schema=self.schema))
            self.rows += self.pending
            self.cols = {name: [] for name in self.schema.names}
            self.pending = 0

    def close(self) -> None:
        self.flush()
        self.writer.close()


@dataclass
class ScipImportResult:
    """Summary of one SCIP import.

    ``definitions`` counts definition occurrences; ``missing_sources`` lists document paths that
    were not found under ``repo`` (character offsets of those documents are left unconverted).
    """

    index: str
    format: str
    tool: str
    documents: int = 0
    occurrences: int = 0
    definitions: int = 0
    symbols: int = 0
    external_symbols: int = 0
    skipped_documents: int = 0
    occurrences_path: str = ""
    symbols_path: str = ""
    seconds: float = 0.0
    missing_sources: list[str] = field(default_factory=list)
    #: per imported index (several when scip-python and scip-typescript both ran): its path,
    #: tool, documents, occurrences and definitions
    by_index: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["missing_sources"] = len(self.missing_sources)
        return out


@writes_data_root("scip import")
def import_scip(
    data_root: DataRootLike,
    index_path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    repo: str | os.PathLike[str] | None = None,
    fmt: str = "auto",
    observers: Iterable[DocumentObserver] = (),
    only_uris: set[str] | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> ScipImportResult:
    """Decode a SCIP index and write ``scip_occurrences.parquet`` + ``scip_symbols.parquet``.

    Streams document by document; both files are replaced atomically only when the whole index
    decoded, so a malformed or truncated index writes nothing.

    :param index_path: binary ``index.scip`` or ``scip print --json`` output, or several of
        them (e.g. scip-python's and scip-typescript's indexes of one repository), imported
        into the same two files; a symbol defined in more than one is kept once.
    :param data_root: where to write (``data_root.scip_occurrences_path`` / ``scip_symbols_path``).
    :param repo: the indexed repository; when given, character offsets on non-ASCII lines are
        converted to code points using the files' text (default: use ``Document.text`` if any).
    :param fmt: ``auto`` (default), ``binary`` or ``json``.
    :param observers: extra consumers fed every document (e.g. the symbol-graph collector).
    :param only_uris: keep only documents with these paths (the ingest passes the walked files, so
        gitignored/generated files scip-python indexed do not produce facts without chunks);
        dropped documents are counted in ``skipped_documents``.
    :param progress: progress reporter (bytes of the index file).
    :raises ScipDecodeError: malformed or truncated index (byte offset or JSON path named).
    """
    data_root = resolve_data_root(data_root)
    single = isinstance(index_path, (str, os.PathLike))
    paths = [Path(index_path)] if single else [Path(p) for p in index_path]  # type: ignore[union-attr]
    if not paths:
        raise ScipDecodeError("no SCIP index to import", hint="pass the path of an index.scip")
    for path in paths:  # before sniffing formats or sizes: a missing index is a clear error
        if not path.is_file():
            raise InputError(
                f"SCIP index not found: {path}",
                hint="create one with `indexctl scip index REPO` or pass the path of an existing index.scip",
            )
    started = time.perf_counter()
    index = paths[0]
    result = ScipImportResult(
        index=", ".join(str(p) for p in paths),
        format=detect_format(index) if fmt == "auto" else fmt,
        tool="",
    )
    repo_path = Path(repo) if repo is not None else None
    observers = list(observers)
    seen: set[str] = set()
    size = sum(p.stat().st_size for p in paths)
    tools: list[str] = []
    with (
        atomic_path(data_root.scip_occurrences_path) as occ_tmp,
        atomic_path(data_root.scip_symbols_path) as sym_tmp,
        progress.task(f"scip import {', '.join(p.name for p in paths)}", total=size) as advance,
    ):
        occ_writer = _BatchWriter(occ_tmp, SCIP_OCCURRENCES_SCHEMA)
        sym_writer = _BatchWriter(sym_tmp, SCIP_SYMBOLS_SCHEMA)
        try:
            for index in paths:
                before = (result.documents, result.occurrences, result.definitions)
                tool = _import_one(
                    index, fmt, result, occ_writer, sym_writer, seen, observers, only_uris, repo_path, advance
                )
                tools.append(tool)
                result.by_index.append(
                    {
                        "index": str(index),
                        "tool": tool,
                        "documents": result.documents - before[0],
                        "occurrences": result.occurrences - before[1],
                        "definitions": result.definitions - before[2],
                    }
                )
        finally:
            occ_writer.close()
            sym_writer.close()
        result.occurrences_path = str(data_root.scip_occurrences_path)
        result.symbols_path = str(data_root.scip_symbols_path)
    result.tool = "; ".join(t for t in tools if t)
    result.symbols = len(seen)
    result.seconds = round(time.perf_counter() - started, 3)
    if result.missing_sources:
        progress.log(
            f"{len(result.missing_sources)} SCIP document(s) not found under {repo_path} "
            f"(first: {result.missing_sources[0]}); their character offsets were not converted"
        )
    return result


def _import_one(
    index: Path,
    fmt: str,
    result: ScipImportResult,
    occ_writer: _BatchWriter,
    sym_writer: _BatchWriter,
    seen: set[str],
    observers: list[DocumentObserver],
    only_uris: set[str] | None,
    repo_path: Path | None,
    advance: Any,
) -> str:
    """Stream one index into the writers; returns its tool name and version."""
    tool = ""
    size = index.stat().st_size
    done = 0
    for item in iter_scip(index, fmt):
        if isinstance(item, Metadata):
            tool = f"{item.tool_name} {item.tool_version}".strip()
            continue
        if isinstance(item, ExternalSymbols):
            for info in item.symbols:
                if info.symbol and info.symbol not in seen:
                    seen.add(info.symbol)
                    sym_writer.append(symbol_row(info, None))
                    result.external_symbols += 1
            for obs in observers:
                obs.add_symbols(item.symbols, None)
            continue
        doc = item
        if not doc.relative_path:
            raise ScipDecodeError(
                f"{index}: {doc.where}.relative_path: missing (required)"
                + (f" (document at byte {doc.offset})" if doc.offset is not None else ""),
                hint="every SCIP document needs a relative_path",
            )
        if not is_relative_posix_path(doc.relative_path):
            raise ScipDecodeError(
                f"{index}: {doc.where}.relative_path {doc.relative_path!r} is not a path inside "
                "the repository (absolute, '..', or a backslash)",
                hint="index the repository from its root so documents have repository-relative paths",
            )
        if only_uris is not None and doc.relative_path not in only_uris:
            result.skipped_documents += 1
            continue
        source = load_source(doc, repo_path)
        if repo_path is not None and repository_file(repo_path, doc.relative_path) is None:
            result.missing_sources.append(doc.relative_path)
        cols, defs = occurrence_rows(doc, index, source)
        occ_writer.extend(cols)
        result.documents += 1
        result.occurrences += len(cols["symbol"])
        result.definitions += len(defs)
        uri = doc.relative_path
        for info in doc.symbols:
            row = symbol_row(info, uri)
            if row["symbol"] and row["symbol"] not in seen:
                seen.add(row["symbol"])
                sym_writer.append(row)
        for symbol, _, _ in defs:
            if symbol not in seen:
                seen.add(symbol)
                sym_writer.append(
                    {
                        "symbol": symbol,
                        "display_name": display_name(symbol),
                        "kind": infer_kind(symbol),
                        "documentation": None,
                        "uri": uri,
                    }
                )
        for obs in observers:
            obs.add_symbols(doc.symbols, uri)
            obs.add_document(doc, source)
        if doc.offset is not None and doc.offset > done:
            advance(doc.offset - done)
            done = doc.offset
    advance(size - done)
    return tool
