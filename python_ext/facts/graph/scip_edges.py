"""Symbol-graph edges from a SCIP index, collected document by document during the import.

**From SCIP** (:class:`ScipEdgeCollector`, fed document by document during the import):

* ``defines`` — the innermost definition whose ``enclosing_range`` contains a definition
  (else the document's module symbol) → that definition. Locals, parameters and type
  parameters are left out.
* ``calls`` / ``references`` — every non-definition occurrence inside a definition's
  ``enclosing_range`` (else at module level: the document's module symbol, or its uri when the
  indexer emits no module symbol) → the referenced symbol. It is a ``calls`` edge when the
  source text shows ``(`` right after the occurrence (without source text: when the symbol is a
  method/function), otherwise ``references``. References to locals and to the source's own
  members/parameters are skipped.
* ``imports`` — occurrences with the Import role; for Python (scip-python sets no Import bit)
  references on an ``import``/``from`` line; for other languages references to module symbols.
* ``inherits`` / ``implements`` — ``SymbolInformation.relationships`` with
  ``is_implementation``: ``inherits`` between two types (``#`` descriptors), else ``implements``.

Every SCIP edge has resolution ``scip``: the indexer resolved it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pyarrow as pa

from python_ext.facts.graph.table import EdgeKey, edges_table
from python_ext.facts.scip.decode import Document, SymbolInfo
from python_ext.facts.scip.importer import (
    SourceLines,
    is_callable_symbol,
    is_local,
    is_module_symbol,
    last_descriptor,
    scoped_symbol,
    to_code_points,
)


def _pos(line: int, char: int) -> tuple[int, int]:
    return (line, char)


def _span(r: tuple[int, ...]) -> tuple[tuple[int, int], tuple[int, int]]:
    if len(r) == 3:
        return (r[0], r[1]), (r[0], r[2])
    return (r[0], r[1]), (r[2], r[3])


class ScipEdgeCollector:
    """Accumulate symbol-graph edges from SCIP documents (a ``DocumentObserver``)."""

    def __init__(self) -> None:
        self.edges: Counter[EdgeKey] = Counter()
        self.uris: dict[str, str] = {}

    def add_symbols(self, symbols: Sequence[SymbolInfo], uri: str | None) -> None:
        for info in symbols:
            src = scoped_symbol(info.symbol, uri) if uri else info.symbol
            for rel in info.relationships:
                if not rel.is_implementation or not rel.symbol:
                    continue
                both_types = last_descriptor(src)[1] == "#" and last_descriptor(rel.symbol)[1] == "#"
                self.edges[(src, rel.symbol, "inherits" if both_types else "implements", "scip")] += 1

    def add_document(self, doc: Document, source: SourceLines | None) -> None:
        uri = doc.relative_path
        module_symbol = ""
        scopes: list[tuple[tuple[int, int], tuple[int, int], str]] = []
        defs: list[tuple[tuple[int, int], str]] = []
        for occ in doc.occurrences:
            if not occ.symbol or not occ.roles & 1 or is_local(occ.symbol) or len(occ.range) not in (3, 4):
                continue
            self.uris.setdefault(occ.symbol, uri)
            if not module_symbol and is_module_symbol(occ.symbol):
                module_symbol = occ.symbol
                continue
            start, _ = _span(occ.range)
            if len(occ.enclosing_range) in (3, 4):
                e_start, e_end = _span(occ.enclosing_range)
                scopes.append((e_start, e_end, occ.symbol))
            if last_descriptor(occ.symbol)[1] not in ("()", "[]"):
                defs.append((start, occ.symbol))
        file_symbol = module_symbol or uri
        scopes.sort(key=lambda s: (s[0], (-s[1][0], -s[1][1])))
        python = doc.language.lower() == "python" or uri.endswith((".py", ".pyi"))

        def innermost(position: tuple[int, int], exclude: str = "") -> str:
            best = ""
            for start, end, symbol in scopes:
                if start > position:
                    break
                if position <= end and symbol != exclude:
                    best = symbol  # later starts are nested deeper
            return best

        for start, symbol in defs:
            self.edges[(innermost(start, exclude=symbol) or file_symbol, symbol, "defines", "scip")] += 1
        for occ in doc.occurrences:
            symbol = occ.symbol
            if not symbol or occ.roles & 1 or is_local(symbol) or len(occ.range) not in (3, 4):
                continue
            start, end = _span(occ.range)
            src = innermost(start) or file_symbol
            if symbol == src or (src and symbol.startswith(src) and src != file_symbol):
                continue
            line = source.line(start[0]) if source is not None else None
            is_import_line = python and line is not None and line.lstrip().startswith(("import ", "from "))
            if occ.roles & 2 or is_import_line or (not python and is_module_symbol(symbol)):
                edge = "imports"
            elif line is not None:
                after = line[to_code_points(line, end[1], doc.position_encoding) :]
                edge = "calls" if after.lstrip().startswith("(") else "references"
            else:
                edge = "calls" if is_callable_symbol(symbol) else "references"
            self.edges[(src, symbol, edge, "scip")] += 1

    def table(self) -> pa.Table:
        return edges_table(self.edges, self.uris)
