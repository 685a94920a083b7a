"""AST facts (ast_nodes, node_to_chunk) on real code, and resolution labels of the symbol graph
on call sites whose resolution is known."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import xxhash

from python_ext.contracts import AST_NODES_SCHEMA, NODE_TO_CHUNK_SCHEMA
from python_ext.facts.ast import ALL_LEVELS, file_nodes, node_chunk_rows
from python_ext.facts.builder import ingest_with_facts
from python_ext.facts.graph import tree_sitter_edges
from python_ext.facts.modules import compute_modules, iter_repo_files
from python_ext.ingest.chunker import ChunkSizer, chunk_file
from python_ext.lang.detect import TREE_SITTER_LANGUAGES
from python_ext.lang.parsers import parser_for

FIX = Path(__file__).resolve().parent / "fixtures"
CHUNKING = FIX / "chunking"


@pytest.fixture(scope="module")
def sources() -> list:
    files = list(iter_repo_files(CHUNKING)) + list(iter_repo_files(FIX / "tiny_repo"))
    return [f for f in files if f.lang in TREE_SITTER_LANGUAGES]


@pytest.mark.parametrize("level", [0, 1, 2, ALL_LEVELS])
def test_node_bounds_are_exact_and_nest(sources: list, level: int) -> None:
    langs = set()
    for source in sources:
        rows = file_nodes(source, level)
        langs.add(source.lang)
        by_id = {r["node_id"]: r for r in rows}
        assert len(by_id) == len(rows), "node ids are unique"
        roots = [r for r in rows if r["parent_id"] is None]
        assert len(roots) == 1 and roots[0]["depth"] == 0 and roots[0]["start_byte"] == 0
        assert roots[0]["end_byte"] == len(source.data)
        tree = parser_for(source.lang).parse(source.data)
        for r in rows:
            text = source.data[r["start_byte"] : r["end_byte"]]
            assert r["text_hash"] == xxhash.xxh64_hexdigest(text)
            assert r["start_line"] == source.data[: r["start_byte"]].count(b"\n") + 1
            assert r["end_line"] == source.data[: max(r["start_byte"], r["end_byte"] - 1)].count(b"\n") + 1
            if r["parent_id"] is not None:
                parent = by_id[r["parent_id"]]
                assert parent["start_byte"] <= r["start_byte"] and r["end_byte"] <= parent["end_byte"]
                assert r["depth"] == parent["depth"] + 1
            if r["depth"] > 0 and r["kind"] != "ERROR":
                node = tree.root_node.descendant_for_byte_range(r["start_byte"], r["end_byte"])
                # a node of that kind spans exactly these bytes (macro-body items come from a re-parse)
                if node is not None and (node.start_byte, node.end_byte) == (r["start_byte"], r["end_byte"]):
                    assert node.text == text
        declarations = [r for r in rows if r["symbol"] and r["depth"] > 0]
        assert declarations or source.uri.endswith("__init__.py"), source.uri  # re-exports only
    assert langs == set(TREE_SITTER_LANGUAGES) - {"tsx"} | ({"tsx"} & langs)


def test_levels_choose_how_deep_below_declarations(sources: list) -> None:
    go = next(s for s in sources if s.uri == "docs.go")
    counts = {level: len(file_nodes(go, level)) for level in (0, 1, 2, ALL_LEVELS)}
    assert counts[0] < counts[1] < counts[2] < counts[ALL_LEVELS]
    names = {r["name"] for r in file_nodes(go, 0) if r["symbol"]}
    assert {"Config", "Store", "FormatPrice", "Receipt", "Set"} <= names


def test_rust_macro_body_items_are_declarations(sources: list) -> None:
    rust = next(s for s in sources if s.uri == "docs.rs")
    symbols = {r["symbol"] for r in file_nodes(rust)}
    assert {"crate.docs.read_price_list", "crate.docs.count_changes", "crate.docs.Cart.render"} <= symbols


def test_node_to_chunk_covers_every_chunk(sources: list) -> None:
    for source in sources:
        rows = file_nodes(source)
        for sizer in (ChunkSizer.chars(200), ChunkSizer.chars(1200)):
            chunks = chunk_file(source.uri, source.data, source.lang, sizer=sizer)
            links = node_chunk_rows(rows, [(c.start_byte, c.end_byte, c.chunk_id()) for c in chunks])
            by_node = {r["node_id"]: r for r in rows}
            for link in links:
                n = by_node[link["node_id"]]
                c = next(c for c in chunks if c.chunk_id() == link["chunk_id"])
                overlap = min(n["end_byte"], c.end_byte) - max(n["start_byte"], c.start_byte)
                assert link["overlap_bytes"] == overlap > 0
                assert link["node_in_chunk"] == (
                    c.start_byte <= n["start_byte"] and n["end_byte"] <= c.end_byte
                )
            for c in chunks:  # first and last byte inside a non-root node mapped to the chunk
                mine = [by_node[x["node_id"]] for x in links if x["chunk_id"] == c.chunk_id()]
                inner = [n for n in mine if n["depth"] > 0]
                assert any(n["start_byte"] <= c.start_byte < n["end_byte"] for n in inner), (source.uri, c)
                assert any(n["start_byte"] < c.end_byte <= n["end_byte"] for n in inner), (source.uri, c)


def test_ingest_writes_ast_facts_matching_the_chunks(tmp_path: Path) -> None:
    summary = ingest_with_facts(tmp_path / "data", CHUNKING, embedder="hashing", ast_level=1)
    ast = summary.facts["ast"]
    nodes = pq.read_table(tmp_path / "data" / "ast" / "ast_nodes.parquet")
    links = pq.read_table(tmp_path / "data" / "ast" / "node_to_chunk.parquet")
    assert nodes.schema.equals(AST_NODES_SCHEMA) and links.schema.equals(NODE_TO_CHUNK_SCHEMA)
    assert nodes.num_rows == ast["nodes"] and links.num_rows == ast["node_to_chunk"] > 0
    assert ast["files"] == 9 and ast["files_stale"] == 0 and ast["declarations"] > 40
    chunk_ids = set(pq.read_table(summary.chunk_files[0], columns=["id"]).column("id").to_pylist())
    assert set(links.column("chunk_id").to_pylist()) <= chunk_ids


# --- resolution labels ------------------------------------------------------------------------

EXPECTED = {
    # (src, dst): resolution — known call sites of fixtures/chunking
    (
        "pkg.docs.Inventory.add",
        "pkg.helpers.normalize",
    ): "import",  # helpers.normalize, `from pkg import helpers`
    (
        "pkg.docs.Inventory.report",
        "pkg.helpers.render_table",
    ): "import",  # `from pkg.helpers import render_table`
    ("pkg.docs.Inventory.add", "pkg.docs.Inventory.total_value"): "same_module",  # self.total_value()
    ("pkg.docs.shipment_weight", "pkg.helpers.Parcel.weight"): "name_only",  # parcel.weight(): type unknown
    ("events.summarizeOrders", "format.formatPrice"): "import",  # import { formatPrice } from './format'
    ("events.EventLog.record", "events.EventLog.count"): "same_module",  # this.count()
    ("events.shipmentWeight", "format.Parcel.weight"): "name_only",
    ("docs.Cart.render", "format.formatPrice"): "import",  # TypeScript
    ("docs.Cart.render", "docs.Cart.total"): "same_module",
    ("shop.Receipt", "shop.FormatPrice"): "same_module",  # Go, same package file
    ("shop.Reset", "shop.Gauge.Set"): "name_only",  # g.Set(0): the receiver's type is not known
    ("crate.docs.Cart.render", "crate.docs.Cart.total"): "same_module",  # Rust self.total()
    ("crate.docs.Cart.render", "crate.docs.format_price"): "same_module",
    ("org.shop.Docs.add", "org.shop.Docs.formatPrice"): "same_module",  # Java implicit this
}


def test_resolution_labels_on_known_call_sites() -> None:
    files = list(iter_repo_files(CHUNKING))
    edges, _ = tree_sitter_edges(files, compute_modules(files, CHUNKING))
    calls = {(s, d): r for (s, d, e, r) in edges if e == "calls"}
    for pair, resolution in EXPECTED.items():
        assert calls.get(pair) == resolution, (pair, calls.get(pair))
    # a type path that is not the definition's type never resolves by name (String::new())
    assert not any(d == "crate.docs.Cart.new" for (s, d) in calls)
    assert {r for (*_, r) in edges} <= {"same_module", "import", "name_only"}
    imports = {r for (s, d, e, r) in edges if e == "imports"}
    defines = {r for (s, d, e, r) in edges if e == "defines"}
    assert imports == {"import"} and defines == {"same_module"}
