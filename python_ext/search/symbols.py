"""Symbol lookups: which chunks define or reference a symbol.

A user names a symbol the way they would write it — ``load_index``, ``LoadedIndex.inner``,
``python_ext.index.load.load_index`` — or as a full SCIP symbol string. :class:`SymbolIndex`
resolves the name to every symbol whose qualified name is it or ends with ``.<name>``, among:

* the chunks' own ``symbols`` (qualified names of the definitions each chunk contains, or SCIP
  symbol strings when SCIP ran at ingest) — those chunks **define** the symbol;
* SCIP occurrences (``scip/scip_occurrences.parquet`` + ``scip_symbols.parquet``): the chunk
  whose lines contain an occurrence **defines** (Definition role) or **references** it;
* the symbol graph (``symbol_graph/symbol_edges.parquet``): for an edge ``src → symbol``
  (calls, references, imports, inherits, implements), the chunks that define ``src``
  **reference** the symbol; when ``src`` is module-level code (no chunk defines it), the chunks
  of ``src_uri`` whose text mentions the symbol's name do.

SCIP symbol strings are turned into qualified names from their descriptors
(``scip-python python pkg 0.1 `pkg.mod`/Circle#area().`` → ``pkg.mod.Circle.area``).
Everything is read once per index version, on the first symbol lookup.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from python_ext.config import DataRoot
from python_ext.errors import NoMatchError
from python_ext.search.corpus import CorpusMeta

DEFINES = "defines"
REFERENCES = "references"
_REFERENCE_EDGES = ("calls", "references", "imports", "inherits", "implements")
_DEF_BIT = 1
_MAX_DEPTH = 64


def qualified_name(symbol: str) -> str:
    """A dotted qualified name for a SCIP symbol string (the string itself for other names).

    Descriptors are read from the end (namespace ``/``, type ``#``, term ``.``, method
    ``().``, parameter ``(x)``, type parameter ``[x]``, meta ``:``); scip-python's module
    marker ``__init__:`` is dropped. Locals (``local …``) keep their string.
    """
    from python_ext.facts.scip.importer import is_local, last_descriptor, symbol_parent

    if is_local(symbol) or symbol.count(" ") < 4:
        return symbol
    parts: list[str] = []
    current = symbol
    for _ in range(_MAX_DEPTH):
        name, suffix = last_descriptor(current)
        if not suffix:
            break
        if not (suffix == ":" and name == "__init__") and name:
            parts.append(name)
        parent = symbol_parent(current)
        if not parent or parent == current:
            break
        current = parent
    return ".".join(reversed(parts)) if parts else symbol


def name_keys(qualified: str) -> list[str]:
    """The lookup keys of a qualified name: itself and every dotted suffix (``a.b.c`` → ``a.b.c``,
    ``b.c``, ``c``)."""
    pieces = qualified.split(".")
    return [".".join(pieces[i:]) for i in range(len(pieces)) if pieces[i]]


@dataclass
class SymbolMatch:
    """One chunk that defines or references a resolved symbol."""

    row: int
    role: str
    symbol: str


class SymbolIndex:
    """Name → symbols → chunk rows for one index version (built on first use).

    :param data_root: where the SCIP and symbol-graph facts are.
    :param meta: the version's chunks.
    :param contents: ``rows → {row: content}`` (used for module-level references only).
    """

    def __init__(
        self,
        data_root: DataRoot,
        meta: CorpusMeta,
        contents: Callable[[list[int]], dict[int, str | None]] | None = None,
    ) -> None:
        self.data_root = data_root
        self.meta = meta
        self.contents = contents
        self._built = False
        self._lock = threading.Lock()

    # --- building -----------------------------------------------------------------------
    def _build(self) -> None:
        if self._built:
            return
        with self._lock:  # concurrent first lookups (the server) build it once
            if not self._built:
                self._build_locked()

    def _build_locked(self) -> None:
        keys: dict[str, set[str]] = defaultdict(set)
        defined_in: dict[str, list[int]] = defaultdict(list)
        symbols = self.meta.table.column("symbols")
        flat = pc.list_flatten(symbols).to_pylist()
        parents = pc.list_parent_indices(symbols).to_numpy()
        for row, sym in zip(parents.tolist(), flat, strict=True):
            if sym:
                defined_in[sym].append(int(row))
        for sym in defined_in:
            self._add_keys(keys, sym)
        self.occurrences = None
        occ_path = self.data_root.scip_occurrences_path
        if occ_path.is_file():
            occ = pq.read_table(occ_path, columns=["symbol", "uri", "role_bits", "start_line"])
            self.occurrences = occ
            for sym in pc.unique(occ.column("symbol")).to_pylist():
                self._add_keys(keys, sym)
        sym_path = self.data_root.scip_symbols_path
        if sym_path.is_file():
            for rec in pq.read_table(sym_path, columns=["symbol", "display_name"]).to_pylist():
                if rec["display_name"]:
                    keys[rec["display_name"]].add(rec["symbol"])
        self.edges = None
        edge_path = self.data_root.symbol_edges_path
        if edge_path.is_file():
            edges = pq.read_table(edge_path, columns=["src_symbol", "dst_symbol", "edge", "src_uri"])
            edges = edges.filter(
                pc.is_in(edges.column("edge"), value_set=pc.cast(_REFERENCE_EDGES, "string"))
            )
            self.edges = edges
            for sym in pc.unique(edges.column("dst_symbol")).to_pylist():
                self._add_keys(keys, sym)
        self.keys = dict(keys)
        self.defined_in = dict(defined_in)
        # per-file line index of the version's chunks: uri code → (start_lines, end_lines, rows)
        lines: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        starts = self.meta.table.column("start_line").to_numpy()
        ends = self.meta.table.column("end_line").to_numpy()
        for row, code in enumerate(self.meta.uri_code.tolist()):
            lines[code].append((int(starts[row]), int(ends[row]), row))
        self.lines = {code: sorted(v) for code, v in lines.items()}
        self.uri_index = {uri: i for i, uri in enumerate(self.meta.uris)}
        self._built = True

    @staticmethod
    def _add_keys(keys: dict[str, set[str]], symbol: str) -> None:
        keys[symbol].add(symbol)
        if symbol.startswith("local "):
            return
        for key in name_keys(qualified_name(symbol)):
            keys[key].add(symbol)

    # --- lookups ------------------------------------------------------------------------
    def resolve(self, name: str) -> set[str]:
        """Every symbol string ``name`` means.

        :raises NoMatchError: no symbol has that name (close names are suggested).
        """
        self._build()
        found = self.keys.get(name.strip())
        if not found:
            short = sorted({k for k in self.keys if "." not in k and not k.startswith("local ")})
            close = difflib.get_close_matches(name.strip().rsplit(".", 1)[-1], short, n=3, cutoff=0.7)
            hint = f"did you mean {', '.join(close)}?" if close else "symbols come from the chunker and SCIP"
            raise NoMatchError(
                f"no symbol named {name!r} in the index's chunks, SCIP index or symbol graph",
                hint=hint + " (names: load_index, LoadedIndex.inner, or a full SCIP symbol)",
            )
        return found

    def _rows_containing(self, uri: str, line: int) -> list[int]:
        code = self.uri_index.get(uri)
        if code is None:
            return []
        return [row for start, end, row in self.lines[code] if start <= line <= end]

    def matches(self, name: str) -> list[SymbolMatch]:
        """Chunks that define or reference ``name``: definitions first, then references, each in
        path and line order; a chunk appears once (as a definition when it is both)."""
        symbols = self.resolve(name)
        roles: dict[int, tuple[str, str]] = {}

        def add(rows: Iterable[int], role: str, symbol: str) -> None:
            for row in rows:
                if row not in roles or (role == DEFINES and roles[row][0] != DEFINES):
                    roles[row] = (role, symbol)

        for sym in sorted(symbols):
            add(self.defined_in.get(sym, []), DEFINES, sym)
        if self.occurrences is not None:
            occ = self.occurrences.filter(
                pc.is_in(self.occurrences.column("symbol"), value_set=pc.cast(sorted(symbols), "string"))
            )
            for rec in occ.to_pylist():
                role = DEFINES if rec["role_bits"] & _DEF_BIT else REFERENCES
                add(self._rows_containing(rec["uri"], rec["start_line"]), role, rec["symbol"])
        if self.edges is not None:
            edges = self.edges.filter(
                pc.is_in(self.edges.column("dst_symbol"), value_set=pc.cast(sorted(symbols), "string"))
            )
            module_level: dict[str, set[str]] = defaultdict(set)
            for rec in edges.to_pylist():
                rows = self.defined_in.get(rec["src_symbol"])
                if rows:
                    add(rows, REFERENCES, rec["dst_symbol"])
                elif rec["src_uri"]:
                    module_level[rec["src_uri"]].add(rec["dst_symbol"])
            if module_level and self.contents is not None:
                self._module_level_references(module_level, add)
        order = sorted(
            roles,
            key=lambda r: (roles[r][0] != DEFINES, self.meta.uris[self.meta.uri_code[r]], r),
        )
        return [SymbolMatch(row, roles[row][0], roles[row][1]) for row in order]

    def _module_level_references(
        self, by_uri: dict[str, set[str]], add: Callable[[Iterable[int], str, str], None]
    ) -> None:
        """Chunks of the referencing files whose text names the symbol (module-level code)."""
        candidates: dict[int, list[tuple[str, re.Pattern[str]]]] = defaultdict(list)
        for uri, targets in by_uri.items():
            code = self.uri_index.get(uri)
            if code is None:
                continue
            for target in targets:
                short = qualified_name(target).rsplit(".", 1)[-1]
                if not short:
                    continue
                pattern = re.compile(rf"\b{re.escape(short)}\b")
                for _, _, row in self.lines[code]:
                    candidates[row].append((target, pattern))
        if not candidates:
            return
        texts = self.contents(sorted(candidates)) if self.contents else {}
        for row, wanted in candidates.items():
            text = texts.get(row)
            for target, pattern in wanted:
                if text and pattern.search(text):
                    add([row], REFERENCES, target)
                    break

    def rows(self, name: str) -> np.ndarray:
        """Rows that define or reference ``name`` (for filters)."""
        return np.asarray([m.row for m in self.matches(name)], dtype=np.int64)
