"""Find function/method definitions and their docstrings inside chunk content (tree-sitter).

Each chunk's ``content`` is parsed on its own with the language's tree-sitter grammar (the
grammars are error tolerant, so a chunk that starts inside a class still parses). For every
function-like node (:data:`python_ext.lang.nodes.FUNCTION_NODES`) the extractor records the
name, the line of the name in the file, and the documentation attached to it by the project's
one documentation rule (:func:`python_ext.lang.docs.documentation`).

The docstring's exact character span inside the chunk content is kept: query generation uses
it to mask the docstring out of what the BM25 and dense channels can match.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from python_ext.lang.docs import documentation
from python_ext.lang.nodes import FUNCTION_NODES
from python_ext.lang.parsers import parser_for

SUPPORTED_LANGUAGES = frozenset(FUNCTION_NODES)


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


def _walk(node: Any) -> Iterator[Any]:
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
        doc = documentation(node, data, lang)
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
