"""Qualified names of definitions, from the syntax tree (no SCIP needed).

The chunker records them in ``chunks.symbols`` and the tree-sitter symbol graph uses the same
strings, so a chunk's symbols and the graph's nodes always agree. Rules: Python, dotted module
path + class/function nesting (``tinylib.geometry.shapes.Circle.area``); JS/TS, the dotted file
path without extension; Go, package name + receiver type; Rust, crate folder + ``mod`` path +
``impl`` type; Java, package + class nesting.
"""

from __future__ import annotations

import functools
import re
from pathlib import PurePosixPath

import tree_sitter

from python_ext.lang.parsers import language_for

_DEF_QUERIES: dict[str, str] = {
    "python": """
        (function_definition name: (identifier) @name) @def
        (class_definition name: (identifier) @name) @def
    """,
    "javascript": """
        (function_declaration name: (_) @name) @def
        (generator_function_declaration name: (_) @name) @def
        (class_declaration name: (_) @name) @def
        (method_definition name: (_) @name) @def
        (variable_declarator name: (identifier) @name
            value: [(arrow_function) (function_expression) (class)]) @def
        (program (lexical_declaration (variable_declarator name: (identifier) @name) @def))
        (program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name) @def)))
    """,
    "typescript": """
        (function_declaration name: (_) @name) @def
        (generator_function_declaration name: (_) @name) @def
        (class_declaration name: (_) @name) @def
        (abstract_class_declaration name: (_) @name) @def
        (method_definition name: (_) @name) @def
        (interface_declaration name: (_) @name) @def
        (type_alias_declaration name: (_) @name) @def
        (enum_declaration name: (_) @name) @def
        (variable_declarator name: (identifier) @name
            value: [(arrow_function) (function_expression) (class)]) @def
        (program (lexical_declaration (variable_declarator name: (identifier) @name) @def))
        (program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name) @def)))
    """,
    "go": """
        (function_declaration name: (_) @name) @def
        (method_declaration name: (_) @name) @def
        (type_spec name: (_) @name) @def
    """,
    "rust": """
        (function_item name: (_) @name) @def
        (function_signature_item name: (_) @name) @def
        (struct_item name: (_) @name) @def
        (enum_item name: (_) @name) @def
        (union_item name: (_) @name) @def
        (trait_item name: (_) @name) @def
        (mod_item name: (_) @name) @def
        (type_item name: (_) @name) @def
        (const_item name: (_) @name) @def
        (static_item name: (_) @name) @def
        (macro_definition name: (_) @name) @def
    """,
    "java": """
        (class_declaration name: (_) @name) @def
        (interface_declaration name: (_) @name) @def
        (enum_declaration name: (_) @name) @def
        (record_declaration name: (_) @name) @def
        (annotation_type_declaration name: (_) @name) @def
        (method_declaration name: (_) @name) @def
        (constructor_declaration name: (_) @name) @def
    """,
}
_DEF_QUERIES["tsx"] = _DEF_QUERIES["typescript"]


@functools.cache
def _def_query(lang: str) -> tree_sitter.Query:
    return tree_sitter.Query(language_for(lang), _DEF_QUERIES[lang])


def _text(node: tree_sitter.Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text is not None else ""


def _type_name(node: tree_sitter.Node | None) -> str:
    """``*Rect`` / ``Rect<T>`` / ``&'a mut Rect`` → ``Rect``."""
    text = _text(node)
    text = text.split("<", 1)[0].split("[", 1)[0]
    return re.sub(r"^[\s*&]*('\w+\s+)?(mut\s+)?", "", text).strip().rsplit("::", 1)[-1].rsplit(".", 1)[-1]


def module_prefix(uri: str, lang: str, root: tree_sitter.Node | None = None) -> str:
    """The dotted prefix of qualified names defined in ``uri`` (see the module docstring)."""
    path = PurePosixPath(uri)
    parts = list(path.with_suffix("").parts)
    if lang == "python":
        if parts and parts[0] == "src" and len(parts) > 1:
            parts = parts[1:]
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join(parts)
    if lang == "go":
        if root is not None:
            for child in root.children:
                if child.type == "package_clause":
                    for sub in child.children:
                        if sub.type == "package_identifier":
                            return _text(sub)
        return parts[-2] if len(parts) > 1 else "main"
    if lang == "java":
        if root is not None:
            for child in root.children:
                if child.type == "package_declaration":
                    for sub in child.named_children:
                        if sub.type in ("scoped_identifier", "identifier"):
                            return _text(sub)
        return ""
    if lang == "rust":
        if "src" in parts:
            i = parts.index("src")
            crate = parts[i - 1] if i > 0 else "crate"
            mods = parts[i + 1 :]
        else:
            crate, mods = "crate", parts
        if mods and mods[-1] in ("lib", "main", "mod"):
            mods = mods[:-1]
        return ".".join([crate, *mods])
    return ".".join(parts)


def definition_symbols(tree: tree_sitter.Tree, uri: str, lang: str) -> list[tuple[int, str]]:
    """``(name_start_byte, qualified_name)`` of every definition in a parsed file, in order."""
    root = tree.root_node
    prefix = module_prefix(uri, lang, root)
    defs: dict[int, tuple[tree_sitter.Node, tree_sitter.Node]] = {}
    for _, captures in tree_sitter.QueryCursor(_def_query(lang)).matches(root):
        def_nodes, name_nodes = captures.get("def"), captures.get("name")
        if def_nodes and name_nodes:
            defs.setdefault(def_nodes[0].id, (def_nodes[0], name_nodes[0]))
    names = {node_id: _text(name) for node_id, (_, name) in defs.items()}
    out: list[tuple[int, str]] = []
    for node_id, (node, name) in defs.items():
        scope: list[str] = []
        if lang == "go" and node.type == "method_declaration":
            receiver = node.child_by_field_name("receiver")
            for param in receiver.named_children if receiver is not None else []:
                scope.append(_type_name(param.child_by_field_name("type")))
                break
        parent = node.parent
        while parent is not None:
            if parent.id in names and parent.id != node_id:
                scope.insert(0, names[parent.id])
            elif lang == "rust" and parent.type == "impl_item":
                scope.insert(0, _type_name(parent.child_by_field_name("type")))
            parent = parent.parent
        qualified = ".".join(p for p in [prefix, *scope, names[node_id]] if p)
        out.append((name.start_byte, qualified))
    out.sort()
    return out
