"""Qualified names of definitions, from the syntax tree (no SCIP needed).

The chunker records them in ``chunks.symbols`` and the tree-sitter symbol graph uses the same
strings, so a chunk's symbols and the graph's nodes always agree. Rules: Python, dotted module
path + class/function nesting (``tinylib.geometry.shapes.Circle.area``); JS/TS, the dotted file
path without extension; Go, package name + receiver type; Rust, crate folder + ``mod`` path +
``impl`` type; Java, package + class nesting. Rust items inside item-level macro bodies
(``cfg_rt! { … }``) are found too (:mod:`python_ext.lang.macros`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Definition:
    """One definition found in a file's syntax tree.

    :param qualified: the qualified name (the module docstring's rules).
    :param name: the definition's own name.
    :param kind: the tree-sitter node type (``function_definition``, ``struct_item`` …).
    :param name_start: first byte of the name.
    :param start_byte: first byte of the definition node.
    :param end_byte: end byte (exclusive) of the definition node.
    """

    qualified: str
    name: str
    kind: str
    name_start: int
    start_byte: int
    end_byte: int
    #: the tree-sitter node (from the file's tree or a re-parsed macro body)
    node: tree_sitter.Node | None = field(default=None, compare=False, repr=False)


def definitions(
    tree: tree_sitter.Tree,
    uri: str,
    lang: str,
    data: bytes | None = None,
    bodies: Sequence[tuple[tree_sitter.Node, tree_sitter.Tree]] | None = None,
) -> list[Definition]:
    """Every definition of a parsed file, in order of the name's position.

    Rust definitions inside item-level macro bodies (``cfg_rt! { pub fn spawn … }``, see
    :mod:`python_ext.lang.macros`) are included when ``data`` (the file's bytes) is given,
    qualified as if the macro were not there; ``bodies`` passes the re-parsed bodies when the
    caller has them already (:func:`~python_ext.lang.macros.item_macro_bodies`).
    """
    root = tree.root_node
    prefix = module_prefix(uri, lang, root)
    roots: list[tuple[tree_sitter.Node, tree_sitter.Node | None]] = [(root, None)]
    if lang == "rust" and (data is not None or bodies is not None):
        if bodies is None:
            from python_ext.lang.macros import item_macro_bodies

            bodies = item_macro_bodies(root, data)  # type: ignore[arg-type]
        roots.extend((body.root_node, macro) for macro, body in bodies)
    found: dict[tuple[int, int], tuple[tree_sitter.Node, tree_sitter.Node]] = {}
    tree_of: dict[tuple[int, int], int] = {}
    for index, (body_root, _) in enumerate(roots):
        for _, captures in tree_sitter.QueryCursor(_def_query(lang)).matches(body_root):
            def_nodes, name_nodes = captures.get("def"), captures.get("name")
            if def_nodes and name_nodes:
                key = (index, def_nodes[0].id)
                found.setdefault(key, (def_nodes[0], name_nodes[0]))
                tree_of[key] = index
    names = {key: _text(name) for key, (_, name) in found.items()}

    def host(index: int) -> tuple[int, tree_sitter.Node | None]:
        """The tree holding the macro of body ``index`` (innermost body containing it) and the macro."""
        macro = roots[index][1]
        if macro is None:
            return -1, None
        best = 0
        for j, (body_root, _) in enumerate(roots[1:], start=1):
            inside = body_root.start_byte <= macro.start_byte < body_root.end_byte
            if j != index and inside and body_root.start_byte >= roots[best][0].start_byte:
                best = j
        return best, macro

    out: list[Definition] = []
    for key, (node, name) in found.items():
        scope: list[str] = []
        if lang == "go" and node.type == "method_declaration":
            receiver = node.child_by_field_name("receiver")
            for param in receiver.named_children if receiver is not None else []:
                scope.append(_type_name(param.child_by_field_name("type")))
                break
        index = tree_of[key]
        parent = node.parent
        while True:
            while parent is not None:
                parent_key = (index, parent.id)
                if parent_key in names and parent_key != key:
                    scope.insert(0, names[parent_key])
                elif lang == "rust" and parent.type == "impl_item":
                    scope.insert(0, _type_name(parent.child_by_field_name("type")))
                parent = parent.parent
            index, macro = host(index)
            if macro is None:
                break
            parent = macro.parent
        qualified = ".".join(p for p in [prefix, *scope, names[key]] if p)
        out.append(
            Definition(
                qualified, names[key], node.type, name.start_byte, node.start_byte, node.end_byte, node
            )
        )
    out.sort(key=lambda d: (d.name_start, d.start_byte))
    return out


def definition_symbols(
    tree: tree_sitter.Tree, uri: str, lang: str, data: bytes | None = None
) -> list[tuple[int, str]]:
    """``(name_start_byte, qualified_name)`` of every definition in a parsed file, in order
    (see :func:`definitions`)."""
    return [(d.name_start, d.qualified) for d in definitions(tree, uri, lang, data)]
