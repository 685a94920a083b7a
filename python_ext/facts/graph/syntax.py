"""Symbol-graph edges from syntax trees (no SCIP needed).

**From tree-sitter** (:func:`tree_sitter_edges`, no SCIP needed): ``defines`` (module → top
level definitions, class → methods), ``imports`` (module → imported module, and → the imported
definition for ``from m import name``), ``calls`` (call sites resolved by name: local definition,
imported binding, ``self.method``, else a repository-wide unique name; ambiguous names are
dropped) and ``inherits`` (class bases). Each edge says how it was resolved: ``same_module``
(defines; a definition of the same file; ``self.method``), ``import`` (imports; a name bound by
an import), ``name_only`` (the repository-wide unique name: a guess, since the receiver's type is
unknown — Go ``q.Set`` on ``url.Values`` lands on ``prometheus.gauge.Set``). Symbols are the
chunker's qualified names (``tinylib.geometry.shapes.Circle.area``), i.e. the strings
``chunks.symbols`` holds without SCIP; a file's module-level code is its module prefix
(``tinylib.cli``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from python_ext.facts.graph.table import EdgeKey
from python_ext.facts.modules import ModuleFacts, raw_imports
from python_ext.facts.modules.imports import _string_value
from python_ext.ingest.walk import SourceFile
from python_ext.lang.nodes import (
    CALL_KINDS,
    IMPORT_KINDS,
    JS_FAMILY,
    find_groups,
    innermost,
    language_family,
    syntax_spec,
)
from python_ext.lang.parsers import parser_for
from python_ext.lang.symbols import definition_symbols, module_prefix

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
        name, obj = fn.child_by_field_name(name_field), fn.child_by_field_name(obj_field)
        if name is not None and obj is not None:
            return _text(obj), _text(name)
        if name is not None and obj_field == "path":  # a bare `name` path: no receiver
            return "", _text(name)
    return None


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

    Symbols are the chunker's qualified names (:func:`python_ext.lang.symbols.definition_symbols`,
    the same strings that fill ``chunks.symbols`` without SCIP); a file's module-level symbol is
    its :func:`~python_ext.lang.symbols.module_prefix` (or its uri when that is empty).
    """
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
                "calls": CALL_KINDS.get(language_family(f.lang) or "", ()),
                "imports": IMPORT_KINDS.get(language_family(f.lang) or "", ()),
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
            if not cls and f.lang == "rust" and _in_impl(node):
                cls = qualified.rsplit(".", 1)[0]  # a method of an `impl T` / trait: self is T
            d = _Def(qualified, _text(name_node), kind, f.uri, node, parent, cls)
            found.append(d)
            open_defs.append(d)
            by_qualified.setdefault(qualified, d)
            by_name[(language_family(f.lang) or f.lang, d.name)].append(d)
            uris.setdefault(qualified, f.uri)
            edges[(parent, qualified, "defines", "same_module")] += 1
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
                    elif target_module == name or (target_module or "").endswith(f".{name}"):
                        bindings[name] = target_symbol  # `from pkg import helpers`: the submodule
                    edges[(own, bound, "imports", "import")] += 1
            else:
                if f.lang == "python":
                    bindings[target.split(".")[0]] = module_symbol.get(target.split(".")[0], target_symbol)
                edges[(own, target_symbol, "imports", "import")] += 1

        if family == "javascript":
            for node in nodes_by_file[f.uri]["imports"]:
                if node.type != "import_statement":
                    continue
                source = node.child_by_field_name("source")
                target_module = imported.get(_string_value(source)) if source is not None else None
                target_symbol = module_symbol.get(target_module or "", "")
                if not target_symbol:
                    continue
                for local, remote in _js_imported_names(node):
                    candidate = target_symbol if remote == "*" else f"{target_symbol}.{remote}"
                    if remote == "*" or candidate in by_qualified:
                        bindings[local] = candidate

        resolve = _NameResolver(own, ".", bindings, by_qualified, by_name, family, f.lang).resolve
        file_defs = defs_by_file.get(f.uri, [])
        for d in file_defs:
            if d.kind == "class":
                for base in _bases(d.node, f.lang):
                    receiver, _, name = base.rpartition(".")
                    target, how = resolve(receiver, name, "")
                    if target and target != d.qualified:
                        edges[(d.qualified, target, "inherits", how)] += 1
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
            target, how = resolve(call[0], call[1].split("<")[0], cls)
            if target and target != scope:
                edges[(scope, target, "calls", how)] += 1
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
    lang: str = ""

    def resolve(self, receiver: str, name: str, scope_class: str) -> tuple[str, str]:
        """``(symbol, resolution)``: ``same_module`` for a definition of this file (or of the
        calling class through ``self``/``this``), ``import`` through an imported binding,
        ``name_only`` when the only evidence is that one definition in the repository has
        that name; ``("", "")`` when unknown or ambiguous."""
        if not name:
            return "", ""
        if not receiver:
            local = f"{self.module_id}{self.sep}{name}"
            if local in self.by_qualified:
                return local, "same_module"
            if name in self.bindings:
                return self.bindings[name], "import"
            if self.lang == "java" and scope_class:  # an implicit this.method()
                candidate = f"{scope_class}{self.sep}{name}"
                if candidate in self.by_qualified:
                    return candidate, "same_module"
        elif receiver in ("self", "cls", "this") and scope_class:
            candidate = f"{scope_class}{self.sep}{name}"
            if candidate in self.by_qualified:
                return candidate, "same_module"
        elif receiver in self.bindings:
            candidate = f"{self.bindings[receiver]}{self.sep}{name}"
            if candidate in self.by_qualified:
                return candidate, "import"
        candidates = self.by_name.get((self.family, name), [])
        if len(candidates) != 1:
            return "", ""
        found = candidates[0]
        owner = receiver.replace("::", ".").rsplit(".", 1)[-1]
        if owner[:1].isupper() and found.qualified.rsplit(".", 2)[-2:-1] != [owner]:
            # `String::new()` / `Other.create()`: a type path that is not the definition's type
            return "", ""
        return found.qualified, "name_only"


def _in_impl(node: Any) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in ("impl_item", "trait_item"):
            return True
        parent = parent.parent
    return False


def _js_imported_names(node: Any) -> list[tuple[str, str]]:
    """``(local name, imported name)`` of a JS/TS ``import`` statement; ``*`` for a namespace
    import (``import * as ns``). Default imports are left out (their target has no name)."""
    out: list[tuple[str, str]] = []
    clause = next((c for c in node.named_children if c.type == "import_clause"), None)
    for part in clause.named_children if clause is not None else []:
        if part.type == "namespace_import":
            ident = next((c for c in part.named_children if c.type == "identifier"), None)
            if ident is not None:
                out.append((_text(ident), "*"))
        elif part.type == "named_imports":
            for spec in part.named_children:
                if spec.type != "import_specifier":
                    continue
                name, alias = spec.child_by_field_name("name"), spec.child_by_field_name("alias")
                if name is not None:
                    out.append((_text(alias or name), _text(name)))
    return out


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
