"""Chunking: syntax-tree chunks (cAST style) for code, line windows for other text.

**Size** is measured in non-whitespace characters (``budget``, default 1200), so indentation
and blank lines cost nothing.

**Code** (:data:`~python_ext.lang.detect.TREE_SITTER_LANGUAGES`), after cAST (Zhang et al.,
2025, "cAST: Enhancing Code Retrieval-Augmented Generation with Structural Chunking via Abstract
Syntax Tree"): starting from the root's children, consecutive sibling nodes are merged greedily
while the merged range stays within the budget; a node larger than the budget is split into its
own children, recursively, and the small siblings before its first oversize child (its header,
e.g. ``class Circle(Shape):``) keep merging into the following children, splitting them if
needed, so a header always stays with the first lines of its body.
Finally a fragment under a tenth of the budget (a lone ``}``) joins a neighbouring chunk when the
union fits. Tokens, string literals and comments are atomic: a chunk boundary is always a node boundary, so
no token is ever cut. A single atomic node larger than the budget is the only chunk allowed
over the budget.

**Coverage**: chunks are disjoint, in file order, and every non-whitespace byte of the file is
inside exactly one chunk. Bytes the syntax tree leaves outside every node (e.g. a Python line
continuation) are attached to the neighbouring chunk, or become their own chunk when that
would exceed the budget. The gaps between chunks are whitespace only.

**Text** (every other detected language): line windows — whole lines merged greedily up to the
budget (at most 100 lines); a Markdown heading starts a new window once the current one holds a
quarter of the budget; a line over the budget is split between words.

**Bounds**: every chunk satisfies ``content == data[start_byte:end_byte].decode("utf-8")``,
bytes 0-based with an exclusive end, lines 1-based inclusive (``start_line`` is the line of the
first byte, ``end_line`` the line of the last byte). Chunks never start or end with whitespace.

**Symbols**: each chunk lists the qualified names of the definitions whose *name* lies inside
it, e.g. ``tinylib.geometry.shapes.Circle.area`` (Python: dotted module path + class/function
nesting; JS/TS: dotted file path without extension; Go: package name + receiver type; Rust:
crate folder + ``mod`` path + ``impl`` type; Java: package + class nesting).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import tree_sitter

from python_ext.contracts import PREVIEW_MAX_CHARS
from python_ext.ids import chunk_id, content_hash
from python_ext.lang.detect import TREE_SITTER_LANGUAGES
from python_ext.lang.nodes import ATOMIC_TYPES
from python_ext.lang.parsers import parser_for
from python_ext.lang.symbols import definition_symbols

#: Default chunk budget in non-whitespace characters.
DEFAULT_CHUNK_BUDGET = 1200
#: Maximum lines of one text window.
MAX_WINDOW_LINES = 100
#: Version of the chunking rules; part of the incremental-ingest key.
CHUNKER_VERSION = "cast-1"

# byte -> 1 when it starts a non-whitespace character (not ASCII whitespace, not a UTF-8
# continuation byte 10xxxxxx), so counting these bytes counts non-whitespace characters.
_COUNTS_AS_CHAR = np.array(
    [0 if (b in (9, 10, 11, 12, 13, 32) or 0x80 <= b <= 0xBF) else 1 for b in range(256)], dtype=np.int64
)
_MAX_DEPTH = 200


@dataclass(frozen=True)
class Chunk:
    """One chunk of one file (the chunks contract minus the embedding).

    :param uri: repository-relative POSIX path.
    :param lang: language name.
    :param start_byte: first byte (0-based).
    :param end_byte: end byte (exclusive).
    :param start_line: line of the first byte (1-based).
    :param end_line: line of the last byte (1-based, inclusive).
    :param content: ``data[start_byte:end_byte]`` decoded as UTF-8.
    :param symbols: qualified names of the definitions the chunk contains.
    """

    uri: str
    lang: str
    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    content: str = field(repr=False)
    symbols: tuple[str, ...] = ()

    def chunk_id(self, salt: str | None = None) -> int:
        """The chunk id (docs/contracts.md#conventions) of ``(uri, start_byte, end_byte)``."""
        return chunk_id(self.uri, self.start_byte, self.end_byte, salt)

    @property
    def content_hash(self) -> str:
        """xxh64 hex of the UTF-8 content."""
        return content_hash(self.content)

    @property
    def preview(self) -> str:
        """See :func:`make_preview`."""
        return make_preview(self.content)


def make_preview(content: str, limit: int = PREVIEW_MAX_CHARS) -> str:
    """The ``preview`` column: whitespace runs collapsed to one space, at most ``limit`` chars.

    A longer text is cut to ``limit - 1`` characters followed by ``…``.
    """
    flat = " ".join(content.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_COUNTS_AS_CHAR_U8 = _COUNTS_AS_CHAR.astype(np.uint8)
#: Bytes that do not start a non-whitespace character (deleted to count the ones that do).
_NOT_CHAR_BYTES = bytes(b for b in range(256) if not _COUNTS_AS_CHAR[b])
#: Bytes per block of the prefix counts kept by :class:`_Source`.
_BLOCK = 512
#: Bytes converted at a time while the block counts are built (bounds the temporaries).
_SLAB = 1 << 20


class _Source:
    """Byte-level helpers for one file: non-whitespace and newline counts over byte ranges.

    Counts are kept per block of :data:`_BLOCK` bytes (prefix sums, 16 bytes per block) and
    finished inside a block on demand, so the memory the chunker adds is about 1/32 of the
    file instead of 16 bytes per input byte (two int64 prefix arrays, plus int64 temporaries
    while they were built): a 300 MB file no longer needs gigabytes on top of its own bytes.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._arr = np.frombuffer(data, dtype=np.uint8)
        n = len(data)
        blocks = n // _BLOCK + 1
        nonws = np.zeros(blocks + 1, dtype=np.int64)
        newlines = np.zeros(blocks + 1, dtype=np.int64)
        for slab in range(0, n, _SLAB):  # a slab is a whole number of blocks
            part = self._arr[slab : slab + _SLAB]
            first = slab // _BLOCK + 1
            full, rest = divmod(len(part), _BLOCK)
            # sum(axis=1, dtype=...) widens through small buffers, never a full int64 copy
            chars = _COUNTS_AS_CHAR_U8[part]
            ends = (part == 10).view(np.uint8)
            for counts, target in ((chars, nonws), (ends, newlines)):
                target[first : first + full] = (
                    counts[: full * _BLOCK].reshape(full, _BLOCK).sum(axis=1, dtype=np.int64)
                )
                if rest:
                    target[first + full] = int(counts[full * _BLOCK :].sum(dtype=np.int64))
        self._nonws = np.cumsum(nonws).tolist()  # Python ints: cheap to index one at a time
        self._newlines = np.cumsum(newlines).tolist()

    def _nonws_before(self, i: int) -> int:
        block, base = divmod(i, _BLOCK)
        partial = len(self.data[i - base : i].translate(None, _NOT_CHAR_BYTES)) if base else 0
        return self._nonws[block] + partial

    def size(self, start: int, end: int) -> int:
        return self._nonws_before(end) - self._nonws_before(start)

    def line_of(self, byte: int) -> int:
        block, base = divmod(byte, _BLOCK)
        partial = self.data.count(b"\n", byte - base, byte) if base else 0
        return self._newlines[block] + partial + 1

    def trim(self, start: int, end: int) -> tuple[int, int]:
        data = self.data
        while start < end and data[start] in b" \t\r\n\f\v":
            start += 1
        while end > start and data[end - 1] in b" \t\r\n\f\v":
            end -= 1
        return start, end


# --- syntax-tree chunking ------------------------------------------------------------------


def _is_atomic(node: tree_sitter.Node) -> bool:
    return node.child_count == 0 or node.type in ATOMIC_TYPES


def _split_nodes(
    nodes: Sequence[tree_sitter.Node],
    src: _Source,
    budget: int,
    depth: int = 0,
    group: tuple[int, int] | None = None,
) -> list[tuple[int, int]]:
    """cAST: greedy sibling merge within the budget, recursive split of oversize nodes.

    ``group`` is an open range just before ``nodes`` (the header of the node being split, e.g.
    ``def f(x):``, or the leading children of a split node); it keeps growing into the first
    children while they fit; any other pending range is closed before a node is split. When the header
    cannot take the next child whole, that child is split so the header stays with its first
    lines instead of becoming a tiny chunk of its own (only a small header, under a quarter of
    the budget, is carried, and only into a child over half the budget).
    """
    out: list[tuple[int, int]] = []
    if group is not None:
        header_start: int | None = group[0]
    else:  # inside a split node, its leading children form its header
        header_start = nodes[0].start_byte if depth > 0 and nodes else None
    for node in nodes:
        start, end = node.start_byte, node.end_byte
        if end <= start:
            continue
        if depth >= _MAX_DEPTH and not _is_atomic(node) and src.size(start, end) > budget:
            if group is not None:
                out.append(group)
                group = header_start = None
            out.extend(_merge_leaves(node, src, budget))
            continue
        splittable = not _is_atomic(node)
        too_big = src.size(start, end) > budget
        fits = group is not None and src.size(group[0], end) <= budget
        carry_header = (
            group is not None
            and group[0] == header_start
            and not fits
            and src.size(*group) < budget // 4
            and src.size(start, end) > budget // 2
        )
        if splittable and (too_big or carry_header):
            small_header = group is not None and group[0] == header_start and src.size(*group) < budget // 4
            if group is not None and not small_header:
                out.append(group)
                group = None
            out.extend(_split_nodes(node.children, src, budget, depth + 1, group))
            group = header_start = None
            continue
        if group is None:
            group = (start, end)
        elif fits:
            group = (group[0], end)
        else:
            out.append(group)
            group = (start, end)
        if group[0] != header_start:
            header_start = None
    if group is not None:
        out.append(group)
    return out


def _cover_gaps(ranges: list[tuple[int, int]], src: _Source, budget: int) -> list[tuple[int, int]]:
    """Trim every range and attach non-whitespace bytes between ranges (see module doc)."""
    trimmed = [r for r in (src.trim(s, e) for s, e in ranges) if r[1] > r[0]]
    out: list[tuple[int, int]] = []
    prev_end = 0
    pending_gap: tuple[int, int] | None = None
    for start, end in [*trimmed, (len(src.data), len(src.data))]:
        gap = src.trim(prev_end, start)
        if gap[1] > gap[0]:
            pending_gap = gap
        if start == end == len(src.data):
            break
        if pending_gap is not None:
            if src.size(pending_gap[0], end) <= budget:
                start = pending_gap[0]
            elif out and src.size(out[-1][0], pending_gap[1]) <= budget:
                out[-1] = (out[-1][0], pending_gap[1])
            else:
                out.append(pending_gap)
            pending_gap = None
        out.append((start, end))
        prev_end = end
    if pending_gap is not None:
        if out and src.size(out[-1][0], pending_gap[1]) <= budget:
            out[-1] = (out[-1][0], pending_gap[1])
        else:
            out.append(pending_gap)
    return out


def _merge_leaves(node: tree_sitter.Node, src: _Source, budget: int) -> list[tuple[int, int]]:
    """Greedy merge of the atomic descendants of a very deep node (no recursion)."""
    out: list[tuple[int, int]] = []
    group: tuple[int, int] | None = None
    stack = [node]
    while stack:
        current = stack.pop()
        if current.end_byte <= current.start_byte:
            continue
        if not _is_atomic(current):
            stack.extend(reversed(current.children))
            continue
        start, end = current.start_byte, current.end_byte
        if group is not None and src.size(group[0], end) <= budget:
            group = (group[0], end)
        else:
            if group is not None:
                out.append(group)
            group = (start, end)
    if group is not None:
        out.append(group)
    return out


def _absorb_fragments(ranges: list[tuple[int, int]], src: _Source, budget: int) -> list[tuple[int, int]]:
    """Merge fragments under a tenth of the budget (a lone ``}``) into a neighbour that has room."""
    small = max(1, budget // 10)
    out: list[tuple[int, int]] = []
    for start, end in ranges:
        tiny = out and (src.size(start, end) < small or src.size(*out[-1]) < small)
        if tiny and src.size(out[-1][0], end) <= budget:
            out[-1] = (out[-1][0], end)
            continue
        out.append((start, end))
    return out


def syntax_ranges(tree: tree_sitter.Tree, src: _Source, budget: int) -> list[tuple[int, int]]:
    """Chunk byte ranges of a parsed file (cAST split/merge, fragment merge, gap coverage)."""
    root = tree.root_node
    ranges = _split_nodes([root], src, budget) if root.end_byte > root.start_byte else []
    return _cover_gaps(_absorb_fragments(ranges, src, budget), src, budget)


# --- line windows ------------------------------------------------------------------------------

_WORD = re.compile(rb"\S+\s*")


def window_ranges(src: _Source, budget: int, lang: str = "text") -> list[tuple[int, int]]:
    """Chunk byte ranges of a text file: greedy whole-line windows (see module doc).

    Each unit (a line, or a word of a line over the budget) is measured once; a window's size
    is the running sum of its units' sizes (units are contiguous, and whatever lies between
    the words of a split line is whitespace, which costs nothing).
    """
    data = src.data
    units: list[tuple[int, int, bool, int, int]] = []  # (start, end, is_heading, size, line)
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        end = len(data) if nl < 0 else nl + 1
        size = src.size(pos, end)
        line = src.line_of(pos)
        if size > budget:
            for m in _WORD.finditer(data[pos:end]):
                a, b = pos + m.start(), pos + m.end()
                units.append((a, b, False, src.size(a, b), line))
        elif size > 0:
            units.append((pos, end, lang == "markdown" and data[pos : pos + 1] == b"#", size, line))
        pos = end
    out: list[tuple[int, int]] = []
    group: tuple[int, int] | None = None
    group_size = group_line = 0
    for start, end, heading, size, line in units:
        if group is None:
            group, group_size, group_line = (start, end), size, line
            continue
        lines = line - group_line + 1
        fits = group_size + size <= budget and lines <= MAX_WINDOW_LINES
        if heading and group_size >= budget // 4:
            fits = False
        if fits:
            group, group_size = (group[0], end), group_size + size
        else:
            out.append(group)
            group, group_size, group_line = (start, end), size, line
    if group is not None:
        out.append(group)
    return [r for r in (src.trim(s, e) for s, e in out) if r[1] > r[0]]


# --- public entry point ----------------------------------------------------------------------


def chunk_file(
    uri: str,
    data: bytes,
    lang: str,
    *,
    budget: int = DEFAULT_CHUNK_BUDGET,
) -> list[Chunk]:
    """Chunk one file's bytes.

    :param uri: repository-relative POSIX path (recorded in each chunk).
    :param data: the file's bytes; must be valid UTF-8.
    :param lang: language name; tree-sitter languages are chunked along the syntax tree,
        every other language by line windows.
    :param budget: maximum non-whitespace characters per chunk (default 1200); only a single
        token, string literal or comment longer than this makes a chunk exceed it.
    :returns: chunks in file order (empty for an empty or whitespace-only file).
    :raises UnicodeDecodeError: when ``data`` is not UTF-8.
    """
    if budget < 1:
        raise ValueError(f"chunk budget must be positive, got {budget}")
    data.decode("utf-8")  # fail early, before any work
    src = _Source(data)
    symbols: list[tuple[int, str]] = []
    if lang in TREE_SITTER_LANGUAGES:
        tree = parser_for(lang).parse(data)
        ranges = syntax_ranges(tree, src, budget)
        symbols = definition_symbols(tree, uri, lang)
    else:
        ranges = window_ranges(src, budget, lang)
    chunks: list[Chunk] = []
    sym_pos = 0
    for start, end in ranges:
        while sym_pos < len(symbols) and symbols[sym_pos][0] < start:
            sym_pos += 1
        mine: list[str] = []
        j = sym_pos
        while j < len(symbols) and symbols[j][0] < end:
            if symbols[j][1] not in mine:
                mine.append(symbols[j][1])
            j += 1
        chunks.append(
            Chunk(
                uri=uri,
                lang=lang,
                start_byte=start,
                end_byte=end,
                start_line=src.line_of(start),
                end_line=src.line_of(end - 1),
                content=data[start:end].decode("utf-8"),
                symbols=tuple(mine),
            )
        )
    return chunks


def non_whitespace_chars(text: str) -> int:
    """Number of non-whitespace characters of ``text`` (the unit of the chunk budget)."""
    return sum(1 for ch in text if ch not in " \t\r\n\f\v")
