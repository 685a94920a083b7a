"""The one rule for "is this definition documented", and the documentation text it finds.

:func:`documentation` returns the documentation attached to a definition node (function,
method, class or type) with its byte span, or None:

* Python: the string literal that is the first statement of the body (PEP 257);
* JavaScript / TypeScript / TSX / Java: the ``/** … */`` block comment right before the
  definition (or before the ``export`` statement or decorators that wrap it);
* Go: the ``//`` line comments right before the declaration (Go doc comments);
* Rust: the ``///`` (or ``/** … */``) doc comments right before the item (attributes skipped).

The module metric ``doc_cov`` counts a definition as documented exactly when this returns
something, and the evaluation's docstring queries are built from the same text.
"""

from __future__ import annotations

import ast
import inspect
import re
from typing import Any

_COMMENT_TYPES = frozenset({"comment", "line_comment", "block_comment"})
_WRAPPERS = frozenset({"export_statement", "decorated_definition"})
_SKIP_BETWEEN = frozenset({"attribute_item", "decorator"})


def _python_string_value(literal: str) -> str:
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = None
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    stripped = re.sub(r"^[rRuUbBfF]*", "", literal)
    for quote in ('"""', "'''", '"', "'"):
        if stripped.startswith(quote) and stripped.endswith(quote) and len(stripped) >= 2 * len(quote):
            return stripped[len(quote) : -len(quote)]
    return stripped


def clean_comment(text: str) -> str:
    """Strip comment markers (``//``, ``///``, ``/** */``, leading ``*``) and Javadoc tags."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        line = re.sub(r"^/\*\*?", "", line)
        line = re.sub(r"\*/$", "", line)
        line = re.sub(r"^//[/!]?", "", line)
        line = re.sub(r"^\*(?!\*)", "", line)
        line = line.strip()
        if line.startswith("@"):
            break
        lines.append(line)
    return "\n".join(lines).strip()


def _python_doc(func: Any, data: bytes) -> tuple[str, int, int] | None:
    body = func.child_by_field_name("body")
    if body is None or not body.named_children:
        return None
    first = body.named_children[0]
    if first.type != "expression_statement" or not first.named_children:
        return None
    string = first.named_children[0]
    if string.type not in ("string", "concatenated_string"):
        return None
    literal = data[string.start_byte : string.end_byte].decode("utf-8", errors="replace")
    text = inspect.cleandoc(_python_string_value(literal))
    return text, first.start_byte, first.end_byte


def _comment_doc(func: Any, data: bytes, lang: str) -> tuple[str, int, int] | None:
    anchor = func
    while anchor.parent is not None and anchor.parent.type in _WRAPPERS:
        anchor = anchor.parent
    comments = []
    expected_row = anchor.start_point.row
    node = anchor.prev_sibling
    while node is not None:
        if node.type in _SKIP_BETWEEN:
            expected_row = node.start_point.row
            node = node.prev_sibling
            continue
        if node.type not in _COMMENT_TYPES or node.end_point.row < expected_row - 1:
            break
        comments.append(node)
        expected_row = node.start_point.row
        node = node.prev_sibling
        if (
            comments[-1].type == "block_comment"
            or data[comments[-1].start_byte : comments[-1].start_byte + 2] == b"/*"
        ):
            break
    if not comments:
        return None
    comments.reverse()
    texts = [data[c.start_byte : c.end_byte].decode("utf-8", errors="replace") for c in comments]
    if lang in ("javascript", "typescript", "tsx", "java"):
        if not texts[-1].startswith("/**"):
            return None
        comments, texts = comments[-1:], texts[-1:]
    elif lang == "rust":
        keep = [(c, t) for c, t in zip(comments, texts, strict=True) if t.startswith(("///", "/**"))]
        if not keep or keep[-1][0] is not comments[-1]:
            return None
        comments = [c for c, _ in keep]
        texts = [t for _, t in keep]
    text = clean_comment("\n".join(texts))
    if not text:
        return None
    return text, comments[0].start_byte, comments[-1].end_byte


def documentation(node: Any, data: bytes, lang: str) -> tuple[str, int, int] | None:
    """The documentation of a definition node: ``(cleaned text, start_byte, end_byte)`` of the
    docstring statement or doc comment(s), or None when the definition is undocumented.

    :param node: a tree-sitter definition node of a tree parsed from ``data``.
    :param data: the UTF-8 bytes the tree was parsed from.
    :param lang: the language of ``data``.
    """
    return _python_doc(node, data) if lang == "python" else _comment_doc(node, data, lang)
