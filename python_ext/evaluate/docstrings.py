"""Find function/method definitions and their docstrings inside chunk content (tree-sitter).

Each chunk's ``content`` is parsed on its own with the language's tree-sitter grammar (the
grammars are error tolerant, so a chunk that starts inside a class still parses). For every
function-like node the extractor records the name, the line of the name in the file, and the
documentation attached to it:

* Python: the string literal that is the first statement of the body (PEP 257);
* JavaScript / TypeScript / TSX / Java: the ``/** … */`` block comment right before the
  definition (or before the ``export`` statement that wraps it);
* Go: the ``//`` line comments right before the declaration (Go doc comments);
* Rust: the ``///`` (or ``/** … */``) doc comments right before the item (attributes skipped).

The docstring's exact character span inside the chunk content is kept: query generation uses
it to mask the docstring out of what the BM25 and dense channels can match.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from python_ext.ingest.languages import parser_for

#: Function-like node types per language.
FUNCTION_NODES: dict[str, frozenset[str]] = {
    "python": frozenset({"function_definition"}),
    "javascript": frozenset({"function_declaration", "generator_function_declaration", "method_definition"}),
    "typescript": frozenset({"function_declaration", "generator_function_declaration", "method_definition"}),
    "tsx": frozenset({"function_declaration", "generator_function_declaration", "method_definition"}),
    "go": frozenset({"function_declaration", "method_declaration"}),
    "rust": frozenset({"function_item"}),
    "java": frozenset({"method_declaration", "constructor_declaration"}),
}
SUPPORTED_LANGUAGES = frozenset(FUNCTION_NODES)

_COMMENT_TYPES = frozenset({"comment", "line_comment", "block_comment"})
_WRAPPERS = frozenset({"export_statement", "decorated_definition"})
_SKIP_BETWEEN = frozenset({"attribute_item", "decorator"})


@dataclass(frozen=True)
class Definition:
    """A function or method found in one chunk.

    :param name: the function's own name (``area``), not qualified.
    :param name_line: 1-based file line of the name.
    :param docstring: the cleaned documentation text, or None when undocumented.
    :param doc_start: character offset of the docstring span in the chunk content (or -1).
    :param doc_end: exclusive end of that span (or -1).
    """

    name: str
    name_line: int
    docstring: str | None
    doc_start: int = -1
    doc_end: int = -1


def _char_offset(data: bytes, byte_offset: int) -> int:
    return len(data[:byte_offset].decode("utf-8", errors="replace"))


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


def _python_doc(func, data: bytes) -> tuple[str, int, int] | None:
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


def _comment_doc(func, data: bytes, lang: str) -> tuple[str, int, int] | None:
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


def _walk(node) -> Iterator:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def find_definitions(content: str, lang: str, start_line: int = 1) -> list[Definition]:
    """Every function/method definition in ``content`` with its docstring (if any).

    :param content: the chunk's source text.
    :param lang: the chunk's language; unsupported languages yield an empty list.
    :param start_line: the file line of the chunk's first line (to report file lines).
    :returns: definitions in source order.
    """
    kinds = FUNCTION_NODES.get(lang)
    if not kinds:
        return []
    data = content.encode("utf-8")
    tree = parser_for(lang).parse(data)
    found: list[Definition] = []
    for node in _walk(tree.root_node):
        if node.type not in kinds:
            continue
        name_node = node.child_by_field_name("name")
        if name_node is None:
            continue
        name = data[name_node.start_byte : name_node.end_byte].decode("utf-8", errors="replace")
        doc = _python_doc(node, data) if lang == "python" else _comment_doc(node, data, lang)
        line = start_line + name_node.start_point.row
        if doc is None:
            found.append(Definition(name, line, None))
        else:
            text, b0, b1 = doc
            found.append(Definition(name, line, text, _char_offset(data, b0), _char_offset(data, b1)))
    return found


_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def first_sentence(docstring: str) -> str:
    """The first sentence of a docstring's first paragraph, whitespace collapsed.

    A trailing period is dropped (``"Count the words in a text."`` → ``"Count the words in a
    text"``).
    """
    paragraph = re.split(r"\n\s*\n", docstring.strip(), maxsplit=1)[0]
    flat = " ".join(paragraph.split())
    sentence = _SENTENCE_END.split(flat, maxsplit=1)[0]
    return sentence.rstrip(" .")
