"""The symbol graph (``symbol_edges.parquet``): who defines, imports, calls, references and
inherits from whom. ``weight`` is the number of occurrences behind an edge.

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

**From tree-sitter** (:func:`tree_sitter_edges`, no SCIP needed): ``defines`` (module → top
level definitions, class → methods), ``imports`` (module → imported module, and → the imported
definition for ``from m import name``), ``calls`` (call sites resolved by name: local definition,
imported binding, ``self.method``, else a repository-wide unique name; ambiguous names are
dropped) and ``inherits`` (class bases). Symbols are the chunker's qualified names
(``tinylib.geometry.shapes.Circle.area``), i.e. the strings ``chunks.symbols`` holds without
SCIP; a file's module-level code is its module prefix (``tinylib.cli``).

``src_uri``/``dst_uri`` are the files that define the symbols (null for external ones).
``symbol_graph.json`` inputs are converted by :func:`convert_symbol_graph_json`.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from python_ext.atomic import atomic_write_parquet
from python_ext.config import DataRoot
from python_ext.contracts import SYMBOL_EDGE_KINDS, SYMBOL_EDGES_SCHEMA
from python_ext.errors import InputError
from python_ext.ingest.languages import parser_for
from python_ext.ingest.modules import (
    _IMPORT_KINDS,
    JS_FAMILY,
    ModuleFacts,
    SourceFile,
    find_groups,
    innermost,
    language_family,
    raw_imports,
    syntax_spec,
)
from python_ext.ingest.scip_decode import Document, SymbolInfo
from python_ext.ingest.scip_import import (
    SourceLines,
    is_callable_symbol,
    is_local,
    is_module_symbol,
    last_descriptor,
    scoped_symbol,
    to_code_points,
)

EdgeKey = tuple[str, str, str]  # (src, dst, edge)
_GRAPH_HINT = 'expected {"edges": [{"src": …, "dst": …, "edge": "calls", "weight": 1}]} (see docs/facts.md)'


def edges_table(edges: Counter[EdgeKey], uris: dict[str, str]) -> pa.Table:
    """Build the ``symbol_edges`` table from edge counts and a symbol → defining-uri map."""
    rows = [
        {
            "src_symbol": src,
            "dst_symbol": dst,
            "edge": edge,
            "weight": float(weight),
            "src_uri": uris.get(src),
            "dst_uri": uris.get(dst),
        }
        for (src, dst, edge), weight in sorted(edges.items())
    ]
    return pa.Table.from_pylist(rows, schema=SYMBOL_EDGES_SCHEMA)


# --- SCIP -----------------------------------------------------------------------------------


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
                self.edges[(src, rel.symbol, "inherits" if both_types else "implements")] += 1

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
            self.edges[(innermost(start, exclude=symbol) or file_symbol, symbol, "defines")] += 1
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
            self.edges[(src, symbol, edge)] += 1

    def table(self) -> pa.Table:
        return edges_table(self.edges, self.uris)


# --- tree-sitter ----------------------------------------------------------------------------

_NAME_FIELDS = ("name", "declarator")


def _text(node: Any) -> str:
    return node.text.decode("utf-8", errors="replace") if node is not None and node.text else ""


def _def_name(node: Any) -> str:
    for field_name in _NAME_FIELDS:
        child = node.child_by_field_name(field_name)
        if child is not None:
            if child.type in ("identifier", "property_identifier", "type_identifier", "field_identifier"):
                return _text(child)
            inner = child.child_by_field_name("name")
            if inner is not None:
                return _text(inner)
    if node.type == "type_declaration":
        spec = next((c for c in node.named_children if c.type == "type_spec"), None)
        if spec is not None:
            return _text(spec.child_by_field_name("name"))
    return ""


def _call_target(node: Any, lang: str) -> tuple[str, str] | None:
    """(receiver text, called name) of a call node, or None when ``node`` is not a call."""
    t = node.type
    if lang == "python" and t == "call":
        fn = node.child_by_field_name("function")
    elif lang in JS_FAMILY and t in ("call_expression", "new_expression"):
        fn = node.child_by_field_name("function") or node.child_by_field_name("constructor")
    elif lang in ("go", "rust") and t == "call_expression":
        fn = node.child_by_field_name("function")
    elif lang == "java" and t in ("method_invocation", "object_creation_expression"):
        if t == "object_creation_expression":
            return "", _text(node.child_by_field_name("type"))
        return _text(node.child_by_field_name("object")), _text(node.child_by_field_name("name"))
    else:
        return None
    if fn is None:
        return None
    if fn.type in ("identifier", "field_identifier"):
        return "", _text(fn)
    for obj_field, name_field in (("object", "attribute"), ("object", "property"), ("operand", "field"),
                                  ("value", "field"), ("path", "name")):  # fmt: skip
        name = fn.child_by_field_name(name_field)
        if name is not None:
            return _text(fn.child_by_field_name(obj_field)), _text(name)
    return None


#: Call-site node types per language family.
_CALL_KINDS: dict[str, tuple[str, ...]] = {
    "python": ("call",),
    "javascript": ("call_expression", "new_expression"),
    "go": ("call_expression",),
    "rust": ("call_expression",),
    "java": ("method_invocation", "object_creation_expression"),
}


@dataclass
class _Def:
    qualified: str
    name: str
    kind: str  # function | class
    uri: str
    node: Any
    parent: str
    class_qualified: str  # enclosing class (for methods)


def _name_node(node: Any) -> Any | None:
    if node.type == "type_declaration":
        spec = next((c for c in node.named_children if c.type == "type_spec"), None)
        return spec.child_by_field_name("name") if spec is not None else None
    return node.child_by_field_name("name")


def tree_sitter_edges(
    files: Sequence[SourceFile], module_facts: ModuleFacts
) -> tuple[Counter[EdgeKey], dict[str, str]]:
    """Symbol-graph edges from syntax trees (see the module docstring); returns
    ``(edge counts, symbol → defining uri)``.

    Symbols are the chunker's qualified names (:func:`python_ext.ingest.chunker.definition_symbols`,
    the same strings that fill ``chunks.symbols`` without SCIP); a file's module-level symbol is
    its :func:`~python_ext.ingest.chunker.module_prefix` (or its uri when that is empty).
    """
    from python_ext.ingest.chunker import definition_symbols, module_prefix

    module_map = module_facts.module_map
    edges: Counter[EdgeKey] = Counter()
    uris: dict[str, str] = {}
    defs_by_file: dict[str, list[_Def]] = {}
    by_qualified: dict[str, _Def] = {}
    by_name: dict[tuple[str, str], list[_Def]] = defaultdict(list)  # (family, name) → defs
    trees: dict[str, Any] = {}
    nodes_by_file: dict[str, dict[str, list[Any]]] = {}
    file_symbol: dict[str, str] = {}
    for f in files:
        spec = syntax_spec(f.lang)
        if spec is None:
            continue
        tree = parser_for(f.lang).parse(f.data)
        root = tree.root_node
        trees[f.uri] = root
        file_symbol[f.uri] = module_prefix(f.uri, f.lang, root) or f.uri
        uris.setdefault(file_symbol[f.uri], f.uri)
        qualified_at = dict(definition_symbols(tree, f.uri, f.lang))
        found: list[_Def] = []
        open_defs: list[_Def] = []  # enclosing definitions (nesting sweep in source order)
        groups = find_groups(
            f.lang,
            root,
            {
                "defs": spec.functions | spec.classes,
                "calls": _CALL_KINDS.get(language_family(f.lang) or "", ()),
                "imports": _IMPORT_KINDS.get(language_family(f.lang) or "", ()),
            },
        )
        nodes_by_file[f.uri] = groups
        for node in groups["defs"]:
            name_node = _name_node(node)
            qualified = qualified_at.get(name_node.start_byte) if name_node is not None else None
            if not qualified:
                continue
            while open_defs and open_defs[-1].node.end_byte <= node.start_byte:
                open_defs.pop()
            outer = open_defs[-1] if open_defs else None
            kind = "class" if node.type in spec.classes else "function"
            parent = outer.qualified if outer else file_symbol[f.uri]
            cls = (
                "" if outer is None else (outer.qualified if outer.kind == "class" else outer.class_qualified)
            )
            d = _Def(qualified, _text(name_node), kind, f.uri, node, parent, cls)
            found.append(d)
            open_defs.append(d)
            by_qualified.setdefault(qualified, d)
            by_name[(language_family(f.lang) or f.lang, d.name)].append(d)
            uris.setdefault(qualified, f.uri)
            edges[(parent, qualified, "defines")] += 1
        defs_by_file[f.uri] = found

    # module id → the module-level symbol of the file that stands for it
    module_symbol: dict[str, str] = {}
    for module in module_map.modules:
        for f in module.files:
            if f.uri in file_symbol:
                module_symbol.setdefault(module.module_id, file_symbol[f.uri])

    for f in files:
        root = trees.get(f.uri)
        if root is None:
            continue
        own = file_symbol[f.uri]
        family = language_family(f.lang) or f.lang
        bindings: dict[str, str] = {}  # local name → symbol (python imports)
        imported = dict(module_facts.file_imports.get(f.uri, []))
        for target, names, _level in raw_imports(f, root, nodes_by_file[f.uri]["imports"]):
            target_module = imported.get(target)
            target_symbol = module_symbol.get(target_module or "", "")
            if not target_symbol:
                continue
            if f.lang == "python" and names:
                for name in names:
                    sub = module_symbol.get(f"{target_module}.{name}")
                    candidate = f"{target_symbol}.{name}"
                    bound = sub or (candidate if candidate in by_qualified else target_symbol)
                    if sub or candidate in by_qualified:
                        bindings[name] = bound
                    edges[(own, bound, "imports")] += 1
            else:
                if f.lang == "python":
                    bindings[target.split(".")[0]] = module_symbol.get(target.split(".")[0], target_symbol)
                edges[(own, target_symbol, "imports")] += 1

        resolve = _NameResolver(own, ".", bindings, by_qualified, by_name, family).resolve
        file_defs = defs_by_file.get(f.uri, [])
        for d in file_defs:
            if d.kind == "class":
                for base in _bases(d.node, f.lang):
                    receiver, _, name = base.rpartition(".")
                    target = resolve(receiver, name, "")
                    if target and target != d.qualified:
                        edges[(d.qualified, target, "inherits")] += 1
        calls = nodes_by_file[f.uri]["calls"]
        scopes = innermost(
            [(d.node.start_byte, d.node.end_byte, i) for i, d in enumerate(file_defs)],
            [c.start_byte for c in calls],
        )
        for node, scope_index in zip(calls, scopes, strict=True):
            call = _call_target(node, f.lang)
            if call is None:
                continue
            scope_def = file_defs[scope_index] if scope_index >= 0 else None
            scope = scope_def.qualified if scope_def else own
            cls = (
                ""
                if scope_def is None
                else (scope_def.qualified if scope_def.kind == "class" else scope_def.class_qualified)
            )
            target = resolve(call[0], call[1].split("<")[0], cls)
            if target and target != scope:
                edges[(scope, target, "calls")] += 1
    return edges, uris


@dataclass
class _NameResolver:
    """Resolve a called/base name inside one file to a repository symbol ('' when unknown)."""

    module_id: str
    sep: str
    bindings: dict[str, str]
    by_qualified: dict[str, _Def]
    by_name: dict[tuple[str, str], list[_Def]]
    family: str

    def resolve(self, receiver: str, name: str, scope_class: str) -> str:
        if not name:
            return ""
        if not receiver:
            local = f"{self.module_id}{self.sep}{name}"
            if local in self.by_qualified:
                return local
            if name in self.bindings:
                return self.bindings[name]
        elif receiver in ("self", "cls", "this") and scope_class:
            candidate = f"{scope_class}{self.sep}{name}"
            if candidate in self.by_qualified:
                return candidate
        elif receiver in self.bindings:
            candidate = f"{self.bindings[receiver]}{self.sep}{name}"
            if candidate in self.by_qualified:
                return candidate
        candidates = self.by_name.get((self.family, name), [])
        return candidates[0].qualified if len(candidates) == 1 else ""


def _bases(node: Any, lang: str) -> list[str]:
    if lang == "python":
        supers = node.child_by_field_name("superclasses")
        return (
            [_text(c) for c in supers.named_children if c.type in ("identifier", "attribute")]
            if supers
            else []
        )
    out = []
    for child in node.named_children:
        if child.type in (
            "class_heritage",
            "superclass",
            "super_interfaces",
            "extends_clause",
            "implements_clause",
        ):
            out.extend(_text(c) for c in child.named_children if c.type in ("identifier", "type_identifier"))
            for sub in child.named_children:
                out.extend(
                    _text(c) for c in sub.named_children if c.type in ("identifier", "type_identifier")
                )
    return out


# --- writing / conversion -------------------------------------------------------------------


@dataclass
class GraphResult:
    """Summary of one ``symbol_edges.parquet`` write."""

    path: str
    edges: int
    by_kind: dict[str, int]
    source: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def write_edges(table: pa.Table, data_root: DataRoot, source: str, started: float) -> GraphResult:
    """Write ``symbol_edges.parquet`` atomically and summarise it."""
    atomic_write_parquet(data_root.symbol_edges_path, table)
    kinds = Counter(table.column("edge").to_pylist())
    return GraphResult(
        path=str(data_root.symbol_edges_path),
        edges=table.num_rows,
        by_kind={k: kinds.get(k, 0) for k in SYMBOL_EDGE_KINDS},
        source=source,
        seconds=round(time.perf_counter() - started, 3),
    )


def convert_symbol_graph_json(path: str | os.PathLike[str], data_root: DataRoot) -> GraphResult:
    """Convert a ``symbol_graph.json`` file into ``symbol_edges.parquet``.

    Accepted shapes: ``{"edges": [{"src", "dst", "edge", "weight"?, "src_uri"?, "dst_uri"?}]}``
    (also ``src_symbol``/``dst_symbol`` keys), or networkx node-link JSON
    ``{"nodes": [...], "links": [{"source", "target", "edge", "weight"?}]}``. ``weight``
    defaults to 1; ``edge`` must be one of calls, references, imports, inherits, implements,
    defines. Duplicate (src, dst, edge) rows are summed.

    :raises InputError: unreadable JSON or a bad field; the message names the JSON path.
    """
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"symbol graph JSON not found: {path}", hint="pass an existing file to --from-json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            hint=_GRAPH_HINT,
        ) from exc
    key = "edges" if isinstance(data, dict) and "edges" in data else "links"
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InputError(
            f"{path}: expected an object with an `edges` (or node-link `links`) list",
            hint=_GRAPH_HINT,
        )
    edges: Counter[EdgeKey] = Counter()
    uris: dict[str, str] = {}
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{path}: {where}: expected an object", hint=_GRAPH_HINT)
        src = item.get("src", item.get("src_symbol", item.get("source")))
        dst = item.get("dst", item.get("dst_symbol", item.get("target")))
        edge = item.get("edge", item.get("kind"))
        weight = item.get("weight", 1)
        for name, value in (("src", src), ("dst", dst), ("edge", edge)):
            if not isinstance(value, str) or not value:
                raise InputError(f"{path}: {where}.{name}: missing or not a string", hint=_GRAPH_HINT)
        if edge not in SYMBOL_EDGE_KINDS:
            raise InputError(
                f"{path}: {where}.edge: unknown edge kind {edge!r}",
                hint=f"edge kinds: {', '.join(SYMBOL_EDGE_KINDS)}",
            )
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise InputError(
                f"{path}: {where}.weight: expected a non-negative number, got {weight!r}", hint=_GRAPH_HINT
            )
        edges[(src, dst, edge)] += weight
        for sym, uri_key in ((src, "src_uri"), (dst, "dst_uri")):
            if isinstance(item.get(uri_key), str):
                uris.setdefault(sym, item[uri_key])
    return write_edges(edges_table(edges, uris), data_root, str(path), started)
