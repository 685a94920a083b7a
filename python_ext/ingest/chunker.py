"""Chunking: syntax-tree chunks (cAST style) for code, line windows for other text.

**Size** is measured in the embedder's own units (:class:`ChunkSizer`): for an embedder with a
window (all-MiniLM-L6-v2 reads 256 word pieces, ``[CLS]`` and ``[SEP]`` included) in its
tokens, counted with its tokenizer (:mod:`python_ext.embed.tokens`: each file is counted once,
word by word, then any byte range is two array lookups); for the lexical hashing embedder in
non-whitespace characters (default 1200), so indentation and blank lines cost nothing. The
limit is a chunk's *content*: the embedder's special tokens (and the context line, when one is
given to the embedder) are taken off the window first.

**Code** (:data:`~python_ext.lang.detect.TREE_SITTER_LANGUAGES`), after cAST (Zhang et al.,
2025, "cAST: Enhancing Code Retrieval-Augmented Generation with Structural Chunking via Abstract
Syntax Tree"): starting from the root's children, consecutive sibling nodes are merged greedily
while the merged range stays within the limit; a node larger than the limit is split into its
own children, recursively. On top of that:

* **leading trivia travel with their declaration**: comments, doc comments, attributes and
  decorators that precede a sibling on the lines right above it (no blank line between) form
  one unit with it, so a chunk boundary never falls between ``/** … */`` or ``// Config
  defines …`` and the declaration it documents. When the unit is too large, the trivia open
  the first chunk of the split declaration (with its signature and the first lines of its
  body). A comment on the same line after a sibling stays with that sibling;
* **headers stay with their bodies**: the small leading children of a split node (its header,
  e.g. ``class Circle(Shape):`` or ``type Config struct {``) keep merging into the following
  children, splitting them if needed, so a header — and an interface, trait, struct or enum's
  first members — always stays with the first lines of its body;
* **never mid-line** when avoidable: a chunk that would start in the middle of a line starts
  at the beginning of that line instead, when that line still fits;
* **Rust macro bodies** that hold items (``cfg_rt! { pub fn spawn … }``) are re-parsed as items
  (:mod:`python_ext.lang.macros`) and split at item boundaries, not by tokens;
* **long comments and strings** are split between lines (then between words, then between the
  embedder's tokens), so that no chunk exceeds the limit unless one single token does.

Finally a fragment under a tenth of the limit (a lone ``}``) joins a neighbouring chunk when the
union fits. A chunk boundary is always a node, line or word boundary.

**Coverage**: chunks are disjoint, in file order, and every non-whitespace byte of the file is
inside exactly one chunk. Bytes the syntax tree leaves outside every node (e.g. a Python line
continuation) are attached to the neighbouring chunk, or become their own chunk when that
would exceed the limit. The gaps between chunks are whitespace only.

**Text** (every other detected language): line windows — whole lines merged greedily up to the
limit (at most 100 lines); a Markdown heading starts a new window once the current one holds a
quarter of the limit; a line over the limit is split between words (then tokens).

**Bounds**: every chunk satisfies ``content == data[start_byte:end_byte].decode("utf-8")``,
bytes 0-based with an exclusive end, lines 1-based inclusive (``start_line`` is the line of the
first byte, ``end_line`` the line of the last byte). Chunks never start or end with whitespace.

**Symbols**: each chunk lists the qualified names of the definitions whose *name* lies inside
it, e.g. ``tinylib.geometry.shapes.Circle.area`` (Python: dotted module path + class/function
nesting; JS/TS: dotted file path without extension; Go: package name + receiver type; Rust:
crate folder + ``mod`` path + ``impl`` type, items of macro bodies included; Java: package +
class nesting). ``enclosing_symbol`` is the innermost definition that contains the whole chunk
without being defined in it — its leading doc comments and attributes count as part of it: the
class of a chunk of methods, the function of a continuation chunk of its body or of the first
part of a doc comment too long for one chunk.
"""

from __future__ import annotations

import itertools
import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import tree_sitter

from python_ext.contracts import PREVIEW_MAX_CHARS
from python_ext.embed.tokens import TokenCounter
from python_ext.ids import chunk_id, content_hash
from python_ext.lang.detect import TREE_SITTER_LANGUAGES
from python_ext.lang.macros import item_macro_bodies
from python_ext.lang.nodes import ATOMIC_TYPES, TRIVIA_TYPES
from python_ext.lang.parsers import parser_for
from python_ext.lang.symbols import Definition, definitions

#: Default limit of the character budget (lexical embedder), in non-whitespace characters.
DEFAULT_CHUNK_BUDGET = 1200
#: Maximum lines of one text window.
MAX_WINDOW_LINES = 100
#: Version of the chunking rules; part of the incremental-ingest key (a new version re-chunks).
CHUNKER_VERSION = "cast-3"
#: The two units a chunk is sized in.
UNITS = ("tokens", "chars")

# byte -> 1 when it starts a non-whitespace character (not ASCII whitespace, not a UTF-8
# continuation byte 10xxxxxx), so counting these bytes counts non-whitespace characters.
_COUNTS_AS_CHAR = np.array(
    [0 if (b in (9, 10, 11, 12, 13, 32) or 0x80 <= b <= 0xBF) else 1 for b in range(256)], dtype=np.int64
)
_SPACE = frozenset(b" \t\r\n\f\v")
_MAX_DEPTH = 200


@dataclass(frozen=True)
class ChunkSizer:
    """How chunks are sized: the unit, the limit, and the counter behind it.

    :param unit: ``tokens`` (the embedder's tokens) or ``chars`` (non-whitespace characters).
    :param limit: the most units of chunk content.
    :param counter: the token counter (``unit == "tokens"`` only).
    :param window: the embedder's window, special tokens included (None: no window).
    """

    unit: str
    limit: int
    counter: TokenCounter | None = None
    window: int | None = None

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, got {self.unit!r}")
        if self.limit < 1:
            raise ValueError(f"chunk limit must be positive, got {self.limit}")
        if (self.unit == "tokens") != (self.counter is not None):
            raise ValueError("a token limit needs a token counter (and a character limit none)")

    @classmethod
    def chars(cls, limit: int = DEFAULT_CHUNK_BUDGET) -> ChunkSizer:
        """The character budget of the lexical embedder."""
        return cls("chars", limit)

    @classmethod
    def tokens(cls, counter: TokenCounter, window: int, reserve: int = 0) -> ChunkSizer:
        """A token limit filling ``window`` minus the special tokens and ``reserve`` (e.g. the
        context line given to the embedder)."""
        return cls("tokens", window - counter.special_tokens - reserve, counter, window)

    def key(self) -> str:
        """The part of the incremental-ingest key that depends on the sizing."""
        return f"{self.unit}={self.limit}" + (f"/window={self.window}" if self.window else "")


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
    :param enclosing_symbol: innermost definition containing the chunk but not defined in it.
    :param size: the content's size in the sizer's unit.
    """

    uri: str
    lang: str
    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    content: str = field(repr=False)
    symbols: tuple[str, ...] = ()
    enclosing_symbol: str | None = None
    size: int = 0

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
_IS_NEWLINE_U8 = (np.arange(256) == 10).astype(np.uint8)
#: Bytes that do not start a non-whitespace character (deleted to count the ones that do).
_NOT_CHAR_BYTES = bytes(b for b in range(256) if not _COUNTS_AS_CHAR[b])
#: Bytes per block of the counts :class:`_Source` keeps (a power of two: shifts and masks).
_BLOCK_BITS = 8
_BLOCK = 1 << _BLOCK_BITS
_IN_BLOCK = _BLOCK - 1
#: Bytes converted at a time while the block counts are built (a whole number of blocks).
_SLAB = 1 << 20
_LEADING_BLANKS = re.compile(rb"[ \t\r\f\v]*")


def _block_prefix(arr: np.ndarray, table: np.ndarray) -> array:
    """Prefix sums, per block of :data:`_BLOCK` bytes, of ``table[byte]`` over ``arr``: entry
    ``b`` is the sum over ``arr[: b * _BLOCK]`` (``len(arr) // _BLOCK + 2`` entries)."""
    n = len(arr)
    sums = np.zeros(n // _BLOCK + 2, dtype=np.int64)
    for slab in range(0, n, _SLAB):
        counts = table[arr[slab : slab + _SLAB]]
        full, rest = divmod(len(counts), _BLOCK)
        first = slab // _BLOCK + 1
        # sum(axis=1, dtype=...) widens through small buffers, never a full int64 copy
        sums[first : first + full] = counts[: full * _BLOCK].reshape(full, _BLOCK).sum(axis=1, dtype=np.int64)
        if rest:
            sums[first + full] = int(counts[full * _BLOCK :].sum(dtype=np.int64))
    out = array("q")
    out.frombytes(np.cumsum(sums).tobytes())
    return out


class _Source:
    """Byte-level helpers for one file: unit and line counts over byte ranges, cut points.

    Nothing is kept per input byte. Character and newline counts are prefix sums per block of
    :data:`_BLOCK` bytes, finished inside the block on demand; tokens are the offsets where
    they start (4 bytes per token, from the embedder's counter), found by bisection inside the
    block. A 300 MB file needs a fraction of its own size on top of its bytes, not gigabytes.
    """

    def __init__(self, data: bytes, counter: TokenCounter | None) -> None:
        self.data = data
        arr = np.frombuffer(data, dtype=np.uint8)
        self.tokens = counter is not None
        self._newlines = _block_prefix(arr, _IS_NEWLINE_U8)
        self._line_first: dict[int, int] = {}
        if counter is None:
            self._chars = _block_prefix(arr, _COUNTS_AS_CHAR_U8)
        else:
            self._starts = counter.token_starts(data)
            bounds = np.arange(0, (len(data) // _BLOCK + 2) * _BLOCK, _BLOCK)
            self._block_starts = array("q")
            self._block_starts.frombytes(
                np.searchsorted(np.frombuffer(self._starts, dtype=self._starts.typecode), bounds)
                .astype(np.int64)
                .tobytes()
            )

    def _tokens_before(self, byte: int) -> int:
        """Tokens starting before ``byte``: bisection among the starts of its block."""
        blocks = self._block_starts
        block = byte >> _BLOCK_BITS
        return bisect_left(self._starts, byte, blocks[block], blocks[block + 1])

    def _chars_before(self, byte: int) -> int:
        """Non-whitespace characters before ``byte``: its block's count plus the rest."""
        base = byte & _IN_BLOCK
        if not base:
            return self._chars[byte >> _BLOCK_BITS]
        return self._chars[byte >> _BLOCK_BITS] + len(
            self.data[byte - base : byte].translate(None, _NOT_CHAR_BYTES)
        )

    def size(self, start: int, end: int) -> int:
        """Units (tokens or characters) of ``[start, end)``."""
        if self.tokens:
            return self._tokens_before(end) - self._tokens_before(start)
        return self._chars_before(end) - self._chars_before(start)

    def line_of(self, byte: int) -> int:
        """1-based line of ``byte``."""
        base = byte & _IN_BLOCK
        line = self._newlines[byte >> _BLOCK_BITS] + 1
        return line + self.data.count(b"\n", byte - base, byte) if base else line

    def line_end(self, byte: int) -> int:
        """End of the line holding ``byte`` (its newline, or the end of the data)."""
        end = self.data.find(b"\n", byte)
        return end if end >= 0 else len(self.data)

    def line_start(self, byte: int) -> int:
        """First byte of the line holding ``byte``."""
        return self.data.rfind(b"\n", 0, byte) + 1

    def line_first(self, byte: int) -> int:
        """First non-whitespace byte of the line holding ``byte`` (-1 for a blank line)."""
        start = self.line_start(byte)
        first = self._line_first.get(start)
        if first is None:
            at = _LEADING_BLANKS.match(self.data, start).end()
            first = at if at < len(self.data) and self.data[at] != 10 else -1
            self._line_first[start] = first
        return first

    def starts_line(self, byte: int) -> bool:
        """True when ``byte`` is the first non-whitespace byte of its line."""
        return self.line_first(byte) == byte

    def trim(self, start: int, end: int) -> tuple[int, int]:
        data = self.data
        while start < end and data[start] in _SPACE:
            start += 1
        while end > start and data[end - 1] in _SPACE:
            end -= 1
        return start, end

    def lines(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        """The non-blank lines of ``[start, end)``, trimmed."""
        data, pos = self.data, start
        while (nl := data.find(b"\n", pos, end)) >= 0:
            piece = self.trim(pos, nl)
            if piece[1] > piece[0]:
                yield piece
            pos = nl + 1
        piece = self.trim(pos, end)
        if piece[1] > piece[0]:
            yield piece

    def words(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        """The whitespace-separated words of ``[start, end)``."""
        for m in _WORD.finditer(self.data, start, end):
            yield m.start(), m.end()

    def token_cuts(self, start: int, end: int) -> list[int]:
        """Byte offsets inside ``(start, end)`` where a token starts (tokens unit only)."""
        if not self.tokens:
            return []
        starts = self._starts
        lo, hi = bisect_right(starts, start), bisect_left(starts, end)
        return list(dict.fromkeys(starts[lo:hi]))

    def pieces(
        self, start: int, end: int, limit: int, reserve: int = 0, first: int | None = None
    ) -> list[tuple[int, int]]:
        """Split ``[start, end)`` into ranges within ``limit``: between lines, then words, then
        tokens; a single word (chars) or token over the limit stays whole. With ``reserve``, the
        last range leaves that much room (for what must follow it in the same chunk: the first
        line of the declaration a long doc comment documents); with ``first``, the first range
        holds at most that much (what precedes it in its chunk takes the rest)."""
        out: list[tuple[int, int]] = []
        for line in self.lines(start, end):
            if self.size(*line) <= limit:
                out.append(line)
                continue
            for word in self.words(*line):
                if self.size(*word) <= limit or not self.tokens:
                    out.append(word)
                    continue
                cuts = [word[0], *self.token_cuts(*word), word[1]]
                out.extend((a, b) for a, b in itertools.pairwise(cuts))
        if reserve <= 0 or reserve >= limit:
            return _greedy(out, self, limit, first)
        # fill backwards: the last range within limit - reserve, the ones before it full
        merged: list[tuple[int, int]] = []
        room = limit - reserve
        for piece_start, piece_end in reversed(out):
            if merged and self.size(piece_start, merged[-1][1]) <= room:
                merged[-1] = (piece_start, merged[-1][1])
            else:
                if merged:
                    room = limit
                merged.append((piece_start, piece_end))
        merged.reverse()
        return merged


_WORD = re.compile(rb"\S+")


def _greedy(
    ranges: list[tuple[int, int]], src: _Source, limit: int, first: int | None = None
) -> list[tuple[int, int]]:
    """Merge consecutive ranges while the union stays within ``limit`` (the first union
    within ``first`` when given)."""
    out: list[tuple[int, int]] = []
    for start, end in ranges:
        room = first if first is not None and len(out) == 1 else limit
        if out and src.size(out[-1][0], end) <= room:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


# --- syntax-tree chunking ------------------------------------------------------------------


def _is_atomic(node: tree_sitter.Node) -> bool:
    return node.child_count == 0 or node.type in ATOMIC_TYPES


@dataclass
class _Group:
    """An open chunk: its range, the line-start item boundaries inside it (where it could be
    cut instead of mid-line), and whether it leads into the next item (a header or trivia)."""

    start: int
    end: int
    cuts: list[int] = field(default_factory=list)
    lead: bool = False
    sticky: bool = False
    tail: bool = False
    after_trivia: bool = False  # the last item added is trivia of the next one


@dataclass
class _Unit:
    """Siblings that stay together: leading trivia, the main node, trailing comments."""

    parts: list[tree_sitter.Node]
    trivia: int  # how many of ``parts`` are leading trivia

    @property
    def start(self) -> int:
        return self.parts[0].start_byte

    @property
    def end(self) -> int:
        return self.parts[-1].end_byte


class _Packer:
    """cAST split/merge of one file's syntax tree within ``limit`` (see the module docstring).

    Groups are open chunks. :meth:`pack` and :meth:`place` return the group left open after
    them (or None); a group left open by a split is a *tail*: only what follows on the same
    line (``,``, ``;``, a trailing comment) may still join it.
    """

    def __init__(
        self, src: _Source, limit: int, root: tree_sitter.Node, bodies: dict[int, tree_sitter.Tree]
    ) -> None:
        self.src = src
        self.root = root
        self.limit = limit
        self.bodies = bodies  # token_tree start byte -> re-parsed macro body
        self.out: list[tuple[int, int]] = []
        #: starts of declarations right after their leading trivia: never a place to cut
        self.after_trivia: set[int] = set()

    # -- groups --

    def _fits(self, group: _Group | None, start: int, end: int) -> bool:
        if group is None or self.src.size(group.start, end) > self.limit:
            return False
        return not group.tail or self.src.line_of(start) == self.src.line_of(group.end - 1)

    def _extend(self, group: _Group, start: int, end: int) -> _Group:
        # a line start is a place to cut, unless what precedes it is trivia of what follows
        if (
            start > group.start
            and not group.after_trivia
            and start not in self.after_trivia
            and self.src.starts_line(start)
        ):
            group.cuts.append(start)
        group.end = max(group.end, end)
        group.after_trivia = False
        return group

    def _line_cut(self, group: _Group, next_start: int, next_end: int | None) -> int | None:
        """Where to end ``group`` so that the item at ``next_start`` (mid-line) does not start
        a chunk mid-line: the last line start inside the group from which the item still fits
        (``next_end``; for an oversize item, None, the start of the item's own line, whose
        head then leads into the item's split). A line start qualifies when it is an item
        boundary of the group or, for the item's own line, the start of a syntax node."""
        src = self.src
        if src.starts_line(next_start):
            return None
        for cut in reversed(group.cuts):
            if cut <= group.start:
                break
            if next_end is None:
                if src.line_start(cut) == src.line_start(next_start):
                    return cut
                break
            if src.size(cut, next_end) <= self.limit:
                return cut
            break
        own = src.line_first(next_start)
        if own in self.after_trivia:
            return None
        if group.start < own < next_start and (next_end is None or src.size(own, next_end) <= self.limit):
            node = self.root.descendant_for_byte_range(own, own + 1)
            if node is not None and node.start_byte == own:
                return own
        return None

    def _close(
        self, group: _Group | None, next_start: int | None = None, next_end: int | None = None
    ) -> _Group | None:
        """Emit ``group``. When the next item starts mid-line and the group holds the start of
        that line, the group is cut there instead and its tail is returned, to be continued."""
        if group is None:
            return None
        if next_start is not None:
            cut = self._line_cut(group, next_start, next_end)
            if cut is not None:
                self.out.append((group.start, cut))
                # the rest keeps what its end leads into (a header, trivia of the next item)
                return _Group(
                    cut, group.end, lead=group.lead, sticky=group.sticky, after_trivia=group.after_trivia
                )
        self.out.append((group.start, group.end))
        return None

    def _start(self, group: _Group | None, start: int, end: int, lead: bool = False) -> _Group:
        """Close ``group`` and open one holding ``[start, end)`` (the line's head when the item
        starts mid-line and its line began in ``group``)."""
        tail = self._close(group, start, end)
        if tail is not None:
            return self._extend(tail, start, end)
        return _Group(start, end, lead=lead)

    # -- items --

    def _children(self, node: tree_sitter.Node) -> list[tree_sitter.Node]:
        if node.type == "token_tree" and node.start_byte in self.bodies:
            body = self.bodies[node.start_byte].root_node
            children = node.children
            return [children[0], *body.children, children[-1]]
        return node.children

    def _units(self, nodes: Sequence[tree_sitter.Node]) -> list[_Unit]:
        """Group siblings: leading trivia with the next sibling, a same-line trailing comment
        with the previous one."""
        units: list[_Unit] = []
        pending: list[tree_sitter.Node] = []
        line_of = self.src.line_of
        for node in nodes:
            if node.end_byte <= node.start_byte:
                continue
            is_trivia = node.type in TRIVIA_TYPES
            if (
                not pending
                and units
                and (node.type in _COMMENTS or node.type in _SEPARATORS)
                and line_of(node.start_byte) == line_of(units[-1].end - 1)
            ):
                units[-1].parts.append(node)  # trailing comment, or the , ; after a sibling
                continue
            if pending and line_of(node.start_byte) > line_of(pending[-1].end_byte - 1) + 1:
                units.append(_Unit(pending, 0))  # a blank line: the trivia stand alone
                pending = []
            if is_trivia:
                pending.append(node)
                continue
            units.append(_Unit([*pending, node], len(pending)))
            pending = []
        if pending:
            units.append(_Unit(pending, 0))
        return units

    def _trivia_plan(self, unit: _Unit) -> tuple[int, int]:
        """For a unit whose trivia are too long to share a chunk with the declaration's first
        line: the room to leave after them (that line's size), and the index of the first
        trivia node to open the declaration's chunk with (-1: none), so that the last doc lines
        and the signature line share a chunk."""
        if not unit.trivia or unit.trivia >= len(unit.parts):
            return 0, -1
        src, limit = self.src, self.limit
        main = unit.parts[unit.trivia]
        first_line = src.size(main.start_byte, min(main.end_byte, src.line_end(main.start_byte)))
        reserve = min(first_line, limit // 2)
        last_end = unit.parts[unit.trivia - 1].end_byte
        fresh_at = -1
        for k in range(unit.trivia - 1, -1, -1):
            if src.size(unit.parts[k].start_byte, last_end) + reserve > limit:
                break
            fresh_at = k
        return reserve, fresh_at

    def _carries(self, group: _Group | None) -> bool:
        """True when ``group`` is a header (or trivia) that travels into the next node's split."""
        return (
            group is not None
            and group.lead
            and (group.sticky or self.src.size(group.start, group.end) < self.limit // 4)
        )

    def pack(self, nodes: Sequence[tree_sitter.Node], header: _Group | None, depth: int) -> _Group | None:
        """Greedy merge of sibling ``nodes`` after the open group ``header`` (a split node's
        header, or leading trivia, which stays with the first of them); returns the group left
        open, marked as a tail."""
        group = header
        first = header is None and depth > 0  # inside a split node its leading children lead
        limit = self.limit
        for unit in self._units(nodes):
            if unit.trivia:
                self.after_trivia.add(unit.parts[unit.trivia].start_byte)
            if self._fits(group, unit.start, unit.end):
                group = self._extend(group, unit.start, unit.end)  # type: ignore[arg-type]
                continue
            lead = first and group is None
            first = False
            if len(unit.parts) == 1:
                group = self.place(unit.parts[0], group, depth, lead)
                continue
            size = self.src.size(unit.start, unit.end)
            if size <= limit and not (self._carries(group) and size > limit // 2):
                group = self._start(group, unit.start, unit.end, lead)
                continue
            if unit.trivia and group is not None and not self._carries(group):
                group = self._close(group)  # the trivia open the declaration's chunk, not the last one
            reserve, fresh_at = self._trivia_plan(unit)
            trivia_end = unit.parts[unit.trivia - 1].end_byte if unit.trivia else unit.start
            for i, part in enumerate(unit.parts):
                is_trivia = i < unit.trivia
                if (
                    i == fresh_at
                    and group is not None
                    and self.src.size(group.start, trivia_end) + reserve > limit
                ):
                    group = self._close(group)  # the last trivia start the declaration's chunk
                group = self.place(
                    part, group, depth, lead and group is None, is_trivia, reserve if is_trivia else 0
                )
        if group is not None:
            group.tail = True
            group.lead = group.sticky = False
        return group

    def place(
        self,
        node: tree_sitter.Node,
        group: _Group | None,
        depth: int,
        lead: bool,
        trivia: bool = False,
        reserve: int = 0,
    ) -> _Group | None:
        """Add one node after the open ``group``; returns the group left open. ``reserve``:
        room to leave after a trivia node too long for one chunk (see :meth:`_Source.pieces`)."""
        start, end = node.start_byte, node.end_byte
        if self._fits(group, start, end):
            group = self._extend(group, start, end)  # type: ignore[arg-type]
        else:
            group = self._place_new(node, group, depth, lead, trivia, reserve)
        if group is not None and trivia:
            group.lead = group.sticky = group.after_trivia = True
            group.tail = False
        return group

    def _place_new(
        self,
        node: tree_sitter.Node,
        group: _Group | None,
        depth: int,
        lead: bool,
        trivia: bool,
        reserve: int = 0,
    ) -> _Group | None:
        src, limit = self.src, self.limit
        start, end = node.start_byte, node.end_byte
        size = src.size(start, end)
        splittable = not _is_atomic(node)
        carry = self._carries(group) and not (group.tail if group is not None else False)
        if (
            not carry
            and splittable
            and group is not None
            and not src.starts_line(start)
            and src.line_first(start) == group.start
            and src.size(group.start, src.line_end(start)) <= limit
        ):
            # the group is the head of the node's own line (`if cond`, `} else`): it leads into
            # the node's split, so that the chunk starts at the line, not in its middle
            group.lead, group.tail = True, False
            return self._split(node, group, depth)
        if splittable and not trivia and carry and (size > limit // 2 or group.sticky):  # type: ignore[union-attr]
            return self._split(node, group, depth)
        if size <= limit and not (carry and not splittable and not trivia and size > limit // 2):
            return self._start(group, start, end, lead)
        # the node alone is over the limit (or a long string/comment a header leads into: it
        # is split so that its first lines stay with the header, as a docstring with its `def`)
        if group is not None and not carry:
            cut = self._line_cut(group, start, None)
            if cut is not None:  # its line began in the group: that head leads into the split
                self.out.append((group.start, cut))
                group = _Group(cut, group.end, lead=True, sticky=True)
            else:
                self._close(group)
                group = None
        if splittable:
            return self._split(node, group, depth)
        # the first piece leaves room for the open group (a header: `def f(…):` + its docstring)
        room = limit - src.size(group.start, group.end) if group is not None else limit
        for piece_start, piece_end in src.pieces(start, end, limit, reserve if trivia else 0, room):
            if self._fits(group, piece_start, piece_end):
                group = self._extend(group, piece_start, piece_end)  # type: ignore[arg-type]
            else:
                self._close(group)
                group = _Group(piece_start, piece_end)
        return group

    def _split(self, node: tree_sitter.Node, header: _Group | None, depth: int) -> _Group | None:
        if depth + 1 >= _MAX_DEPTH:
            return self._leaves(node, header)
        sticky = header is not None and header.sticky
        group = self.pack(self._children(node), header, depth + 1)
        if group is not None and header is not None and group.start <= node.start_byte:
            # the whole node is in the open group: it is still the header of what follows (a
            # signature split across lines before its body), not the tail of a split body
            group.tail, group.lead, group.sticky = False, True, sticky
        return group

    def _leaves(self, node: tree_sitter.Node, group: _Group | None) -> _Group | None:
        """Greedy merge of the atomic descendants of a very deep node (no recursion)."""
        stack = [node]
        while stack:
            current = stack.pop()
            if current.end_byte <= current.start_byte:
                continue
            if not _is_atomic(current):
                stack.extend(reversed(current.children))
                continue
            start, end = current.start_byte, current.end_byte
            if self._fits(group, start, end):
                group = self._extend(group, start, end)  # type: ignore[arg-type]
            elif self.src.size(start, end) <= self.limit:
                group = self._start(group, start, end)
            else:
                self._close(group)
                group = None
                self.out.extend(self.src.pieces(start, end, self.limit))
        return group


_COMMENTS = frozenset({"comment", "line_comment", "block_comment", "html_comment"})
_SEPARATORS = frozenset({",", ";"})


def _cover_gaps(ranges: list[tuple[int, int]], src: _Source, limit: int) -> list[tuple[int, int]]:
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
            if src.size(pending_gap[0], end) <= limit:
                start = pending_gap[0]
            elif out and src.size(out[-1][0], pending_gap[1]) <= limit:
                out[-1] = (out[-1][0], pending_gap[1])
            else:
                out.extend(src.pieces(*pending_gap, limit))
            pending_gap = None
        out.append((start, end))
        prev_end = end
    if pending_gap is not None:
        if out and src.size(out[-1][0], pending_gap[1]) <= limit:
            out[-1] = (out[-1][0], pending_gap[1])
        else:
            out.extend(src.pieces(*pending_gap, limit))
    return out


#: A fragment ending like a header that waits for its body (``class C(B):``, ``fn f() {``).
_OPENS = re.compile(rb"(:|\{|\(|\[|=>|=|->)\s*$")


def _absorb_fragments(ranges: list[tuple[int, int]], src: _Source, limit: int) -> list[tuple[int, int]]:
    """Merge fragments under a tenth of the limit into a neighbour that has room: a header
    waiting for its body (``class HTTPAdapter(BaseAdapter):``) into the chunk after when it
    fits, anything else (a lone ``}``, the last line of a body) into the chunk before."""
    small = max(1, limit // 10)
    out: list[tuple[int, int]] = []
    carry: tuple[int, int] | None = None  # a small header waiting to open the next chunk
    for start, end in ranges:
        if carry is not None:
            if src.size(carry[0], end) <= limit:
                start = carry[0]
            else:
                out.append(carry)
            carry = None
        size = src.size(start, end)
        if out and src.size(*out[-1]) < small and src.size(out[-1][0], end) <= limit:
            out[-1] = (out[-1][0], end)  # the previous fragment joins this one
            continue
        if size < small and _OPENS.search(src.data[start:end]):
            carry = (start, end)
            continue
        if out and size < small and src.size(out[-1][0], end) <= limit:
            out[-1] = (out[-1][0], end)
            continue
        out.append((start, end))
    if carry is not None:
        if out and src.size(out[-1][0], carry[1]) <= limit:
            out[-1] = (out[-1][0], carry[1])
        else:
            out.append(carry)
    return out


def _enforce_limit(ranges: list[tuple[int, int]], src: _Source, limit: int) -> list[tuple[int, int]]:
    """Split any range still over the limit between lines, words, tokens (a safety net)."""
    out: list[tuple[int, int]] = []
    for start, end in ranges:
        if src.size(start, end) <= limit:
            out.append((start, end))
        else:
            out.extend(src.pieces(start, end, limit))
    return out


def syntax_ranges(
    tree: tree_sitter.Tree, src: _Source, limit: int, bodies: dict[int, tree_sitter.Tree] | None = None
) -> list[tuple[int, int]]:
    """Chunk byte ranges of a parsed file (cAST split/merge, fragment merge, gap coverage)."""
    root = tree.root_node
    packer = _Packer(src, limit, root, bodies or {})
    if root.end_byte > root.start_byte:
        if src.size(root.start_byte, root.end_byte) <= limit:
            packer.out.append((root.start_byte, root.end_byte))
        else:
            packer._close(packer.pack(root.children, None, 0))
    ranges = sorted(packer.out)
    return _enforce_limit(_cover_gaps(_absorb_fragments(ranges, src, limit), src, limit), src, limit)


# --- line windows ------------------------------------------------------------------------------


def window_ranges(src: _Source, limit: int, lang: str = "text") -> list[tuple[int, int]]:
    """Chunk byte ranges of a text file: greedy whole-line windows (see module doc)."""
    data = src.data
    units: list[tuple[int, int, bool]] = []  # (start, end, is_heading)
    for start, end in src.lines(0, len(data)):
        if src.size(start, end) > limit:
            units.extend((a, b, False) for a, b in src.pieces(start, end, limit))
        else:
            units.append((start, end, lang == "markdown" and data[start : start + 1] == b"#"))
    out: list[tuple[int, int]] = []
    group: tuple[int, int] | None = None
    for start, end, heading in units:
        if group is None:
            group = (start, end)
            continue
        lines = src.line_of(end - 1) - src.line_of(group[0]) + 1
        fits = src.size(group[0], end) <= limit and lines <= MAX_WINDOW_LINES
        if heading and src.size(*group) >= limit // 4:
            fits = False
        if fits:
            group = (group[0], end)
        else:
            out.append(group)
            group = (start, end)
    if group is not None:
        out.append(group)
    return out


# --- symbols ---------------------------------------------------------------------------------


_WRAPPERS = frozenset({"export_statement", "decorated_definition"})


def _lead_start(node: tree_sitter.Node, src: _Source) -> int:
    """First byte of a definition with its wrappers (``export``, decorators) and the trivia
    right above it (doc comments, attributes): where the chunker's unit for it begins."""
    anchor = node
    while anchor.parent is not None and anchor.parent.type in _WRAPPERS:
        anchor = anchor.parent
    start = anchor.start_byte
    prev = anchor.prev_sibling
    while prev is not None and prev.type in TRIVIA_TYPES:
        if src.line_of(prev.end_byte - 1) + 1 < src.line_of(start):
            break
        start = prev.start_byte
        prev = prev.prev_sibling
    return start


def _assign_symbols(
    ranges: list[tuple[int, int]], defs: list[tuple[int, int, int, str]]
) -> list[tuple[tuple[str, ...], str | None]]:
    """Per range: the definitions whose name lies inside it, and the innermost definition
    whose extent (its leading doc comments and attributes included) contains the whole range
    without having its name inside it.

    :param defs: ``(extent start, end, name start, qualified name)`` per definition.
    """
    out: list[tuple[tuple[str, ...], str | None]] = []
    by_start = sorted(defs, key=lambda d: (d[0], -d[1]))
    names = sorted((d[2], d[3]) for d in defs)
    pos = 0
    nxt = 0
    open_defs: list[tuple[int, int, int, str]] = []  # extents containing the chunk start, outermost first
    for start, end in ranges:
        while pos < len(names) and names[pos][0] < start:
            pos += 1
        mine: list[str] = []
        j = pos
        while j < len(names) and names[j][0] < end:
            if names[j][1] not in mine:
                mine.append(names[j][1])
            j += 1
        while nxt < len(by_start) and by_start[nxt][0] <= start:
            while open_defs and open_defs[-1][1] <= by_start[nxt][0]:
                open_defs.pop()
            open_defs.append(by_start[nxt])
            nxt += 1
        while open_defs and open_defs[-1][1] <= start:
            open_defs.pop()
        enclosing: str | None = None
        for _, d_end, d_name, qualified in reversed(open_defs):
            if d_end >= end and not (start <= d_name < end):
                enclosing = qualified
                break
        out.append((tuple(mine), enclosing))
    return out


# --- public entry point ----------------------------------------------------------------------


def chunk_file(
    uri: str,
    data: bytes,
    lang: str,
    *,
    budget: int = DEFAULT_CHUNK_BUDGET,
    sizer: ChunkSizer | None = None,
) -> list[Chunk]:
    """Chunk one file's bytes.

    :param uri: repository-relative POSIX path (recorded in each chunk).
    :param data: the file's bytes; must be valid UTF-8.
    :param lang: language name; tree-sitter languages are chunked along the syntax tree,
        every other language by line windows.
    :param budget: the character budget (non-whitespace characters, default 1200) when no
        ``sizer`` is given.
    :param sizer: how chunks are sized (e.g. :meth:`ChunkSizer.tokens` for MiniLM's window);
        default ``ChunkSizer.chars(budget)``. Only a single token (or, in characters, a single
        word) longer than the limit makes a chunk exceed it.
    :returns: chunks in file order (empty for an empty or whitespace-only file).
    :raises UnicodeDecodeError: when ``data`` is not UTF-8.
    """
    sizer = sizer if sizer is not None else ChunkSizer.chars(budget)
    data.decode("utf-8")  # fail early, before any work
    src = _Source(data, sizer.counter)
    defs: list[Definition] = []
    if lang in TREE_SITTER_LANGUAGES:
        tree = parser_for(lang).parse(data)
        macro_bodies = item_macro_bodies(tree.root_node, data) if lang == "rust" else []
        bodies = {
            next(c for c in macro.children if c.type == "token_tree").start_byte: body
            for macro, body in macro_bodies
        }
        ranges = syntax_ranges(tree, src, sizer.limit, bodies)
        defs = definitions(tree, uri, lang, data, macro_bodies)
    else:
        ranges = window_ranges(src, sizer.limit, lang)
    extents = [
        (_lead_start(d.node, src) if d.node else d.start_byte, d.end_byte, d.name_start, d.qualified)
        for d in defs
    ]
    chunks: list[Chunk] = []
    for (start, end), (symbols, enclosing) in zip(ranges, _assign_symbols(ranges, extents), strict=True):
        chunks.append(
            Chunk(
                uri=uri,
                lang=lang,
                start_byte=start,
                end_byte=end,
                start_line=src.line_of(start),
                end_line=src.line_of(end - 1),
                content=data[start:end].decode("utf-8"),
                symbols=symbols,
                enclosing_symbol=enclosing,
                size=src.size(start, end),
            )
        )
    return chunks


def non_whitespace_chars(text: str) -> int:
    """Number of non-whitespace characters of ``text`` (the unit of the character budget)."""
    return sum(1 for ch in text if ch not in " \t\r\n\f\v")
