"""Macro bodies that hold items: Rust ``cfg_*! { … }``-style invocations, re-parsed as items.

tree-sitter-rust leaves the argument of a macro invocation as a ``token_tree``: a flat run of
tokens with no items in it. Crates such as tokio wrap whole modules in such macros
(``cfg_rt! { pub fn spawn … }``), so without help a chunker cuts them by tokens and the symbol
table misses every definition inside. :func:`reparse_macro_body` parses the text between the
delimiters of a brace-delimited ``token_tree`` as Rust items (a parser restricted to that byte
range with ``included_ranges``, so every node keeps its position in the file) and returns the
new tree when the body parses without error; otherwise it returns None and the token tree stays
as it is (``tokio::select! { … }`` and other expression macros do not hold items).

:func:`item_macro_bodies` finds the macro invocations at item level (in a file, a ``mod`` or an
``impl``/``trait`` body, or in another re-parsed body) whose body holds items.
"""

from __future__ import annotations

import functools

import tree_sitter

from python_ext.lang.parsers import language_for

#: Parents under which a macro invocation stands where an item could (so it may expand to items).
_ITEM_CONTEXTS = frozenset({"source_file", "declaration_list", "macro_body_items"})


def _brace_delimited(token_tree: tree_sitter.Node) -> bool:
    children = token_tree.children
    return len(children) >= 2 and children[0].type == "{" and children[-1].type == "}"


def reparse_macro_body(token_tree: tree_sitter.Node, data: bytes) -> tree_sitter.Tree | None:
    """Parse the inside of a brace-delimited Rust ``token_tree`` as items.

    :param token_tree: a ``token_tree`` node of a tree parsed from ``data``.
    :param data: the file's bytes.
    :returns: a tree whose root (``source_file``) spans the body, nodes at file positions; None
        when the body is empty, not brace-delimited, or does not parse as items without error.
    """
    if token_tree.type != "token_tree" or not _brace_delimited(token_tree):
        return None
    open_brace, close_brace = token_tree.children[0], token_tree.children[-1]
    start, end = open_brace.end_byte, close_brace.start_byte
    if not data[start:end].strip():
        return None
    body = tree_sitter.Range(open_brace.end_point, close_brace.start_point, start, end)
    parser = tree_sitter.Parser(language_for("rust"), included_ranges=[body])
    tree = parser.parse(data)
    root = tree.root_node
    if root.has_error or not root.named_children:
        return None
    return tree


def is_item_macro(node: tree_sitter.Node, parent_type: str | None = None) -> bool:
    """True for a ``macro_invocation`` standing where an item could, with a brace body."""
    if node.type != "macro_invocation":
        return False
    kind = parent_type if parent_type is not None else (node.parent.type if node.parent else "")
    tree_arg = next((c for c in node.children if c.type == "token_tree"), None)
    return kind in _ITEM_CONTEXTS and tree_arg is not None and _brace_delimited(tree_arg)


@functools.cache
def _macro_query() -> tree_sitter.Query:
    return tree_sitter.Query(language_for("rust"), "(macro_invocation (token_tree) @body) @macro")


def item_macro_bodies(root: tree_sitter.Node, data: bytes) -> list[tuple[tree_sitter.Node, tree_sitter.Tree]]:
    """``(macro_invocation node, re-parsed body)`` for every item-level macro whose body parses
    as items, nested bodies included (a macro inside a re-parsed body), in file order."""
    found: list[tuple[tree_sitter.Node, tree_sitter.Tree]] = []
    pending: list[tuple[tree_sitter.Node, bool]] = [(root, False)]
    while pending:
        scope, in_body = pending.pop()
        for _, captures in tree_sitter.QueryCursor(_macro_query()).matches(scope):
            macro = captures["macro"][0]
            parent = macro.parent
            at_item_level = parent is not None and (
                parent.type in _ITEM_CONTEXTS or (in_body and parent.id == scope.id)
            )
            if not at_item_level or macro.parent is None:
                continue
            body = reparse_macro_body(captures["body"][0], data)
            if body is not None:
                found.append((macro, body))
                pending.append((body.root_node, True))
    found.sort(key=lambda pair: pair[0].start_byte)
    return found
