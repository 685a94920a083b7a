# ruff: noqa: F811  (session fixtures imported from _scip_support are redefined as arguments)
"""Symbol graph: tree-sitter edges on the tiny repository (its README lists the calls and bases),
SCIP edges from a real scip-python index, symbol_graph.json conversion, the chunk resolver."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _scip_support import pkgdemo_index, pkgdemo_repo  # noqa: F401

from python_ext.config import DataRoot
from python_ext.contracts import SYMBOL_EDGES_SCHEMA
from python_ext.errors import ConfigError, InputError
from python_ext.facts.builder import ScipDefinitionIndex, extract_facts, extract_graph
from python_ext.facts.graph import ScipEdgeCollector, convert_symbol_graph_json, tree_sitter_edges
from python_ext.facts.modules import compute_modules, iter_repo_files
from python_ext.facts.scip.importer import import_scip

TINY = Path(__file__).resolve().parent / "fixtures" / "tiny_repo"
PKG = "scip-python python pkgdemo 0 "


@pytest.fixture(scope="module")
def tiny_graph() -> dict[tuple[str, str, str, str | None], int]:
    files = list(iter_repo_files(TINY))
    edges, uris = tree_sitter_edges(files, compute_modules(files, TINY))
    assert uris["tinylib.geometry.shapes.Circle"] == "tinylib/geometry/shapes.py"
    return dict(edges)


@pytest.fixture(scope="module")
def tiny_edges(tiny_graph: dict) -> dict[tuple[str, str, str], int]:
    """(src, dst, edge) → weight over every resolution."""
    out: dict[tuple[str, str, str], int] = {}
    for (src, dst, edge, _), weight in tiny_graph.items():
        out[(src, dst, edge)] = out.get((src, dst, edge), 0) + weight
    return out


def _targets(edges: dict, src: str, kind: str) -> set[str]:
    return {dst for (s, dst, e) in edges if s == src and e == kind}


def test_tree_sitter_calls_from_the_readme(tiny_edges) -> None:
    assert _targets(tiny_edges, "tinylib.cli.main", "calls") == {
        "tinylib.cli.build_parser",
        "tinylib.textutil.slugify",
        "tinylib.config.load_settings",
        "tinylib.report.render_area_report",
        "tinylib.cli.sample_shapes",
    }
    assert _targets(tiny_edges, "tinylib.report.render_area_report", "calls") == {
        "tinylib.textutil.truncate",
        "tinylib.report.format_row",
        "tinylib.geometry.shapes.largest_shape",
        "tinylib.geometry.shapes.total_area",
        "tinylib.textutil.wrap_text",
    }
    assert _targets(tiny_edges, "tinylib.geometry.shapes.Circle.contains", "calls") == {
        "tinylib.geometry.vectors.distance"
    }
    assert "tinylib.geometry.vectors.Vector.norm" in _targets(
        tiny_edges, "tinylib.geometry.vectors.distance", "calls"
    )
    assert _targets(tiny_edges, "tinylib.geometry.base.Shape.describe", "calls") == {
        "tinylib.geometry.base.Shape.area",
        "tinylib.geometry.base.Shape.perimeter",
    }
    assert tiny_edges[("web.app.setup", "web.app.renderShapes", "calls")] == 2  # weight = call sites


def test_tree_sitter_bases_imports_defines(tiny_edges) -> None:
    inherits = {(s, d) for (s, d, e) in tiny_edges if e == "inherits" and s.startswith("tinylib")}
    assert inherits == {
        ("tinylib.geometry.shapes.Circle", "tinylib.geometry.base.Shape"),
        ("tinylib.geometry.shapes.Rectangle", "tinylib.geometry.base.Shape"),
        ("tinylib.geometry.shapes.Square", "tinylib.geometry.shapes.Rectangle"),
    }
    assert ("tinylib.report", "tinylib.textutil.truncate", "imports") in tiny_edges
    assert ("web.app", "web.util", "imports") in tiny_edges
    assert _targets(tiny_edges, "tinylib.geometry.vectors.Vector", "defines") == {
        "tinylib.geometry.vectors.Vector.__add__",
        "tinylib.geometry.vectors.Vector.scale",
        "tinylib.geometry.vectors.Vector.norm",
    }


def test_scip_edges(pkgdemo_index: Path, pkgdemo_repo: Path, data_root: DataRoot) -> None:
    collector = ScipEdgeCollector()
    import_scip(data_root, pkgdemo_index, repo=pkgdemo_repo, observers=[collector])
    edges = collector.edges
    circle, shape = PKG + "`shapes.circle`/Circle#", PKG + "`shapes.base`/Shape#"
    assert edges[(circle, shape, "inherits", "scip")] == 1
    assert edges[(circle + "area().", shape + "area().", "implements", "scip")] == 1
    assert edges[(PKG + "report/main().", PKG + "`shapes.circle`/unit_circle().", "calls", "scip")] == 2
    assert edges[(PKG + "report/total_area().", circle, "calls", "scip")] == 1  # Circle(r)
    # -> Circle annotation
    assert edges[(PKG + "`shapes.circle`/unit_circle().", circle, "references", "scip")] == 1
    assert edges[(PKG + "report/__init__:", PKG + "shapes/__init__:", "imports", "scip")] == 1
    assert edges[(shape, shape + "area().", "defines", "scip")] == 1
    assert edges[(PKG + "`shapes.base`/__init__:", shape, "defines", "scip")] == 1
    assert not any(dst.startswith("local ") for (_, dst, _, _) in edges)
    assert {resolution for (*_, resolution) in edges} == {"scip"}
    table = collector.table()
    assert table.schema.equals(SYMBOL_EDGES_SCHEMA)
    row = next(r for r in table.to_pylist() if r["edge"] == "inherits")
    assert (row["src_uri"], row["dst_uri"]) == ("shapes/circle.py", "shapes/base.py")


def test_definition_index_maps_symbols_to_lines(pkgdemo_index: Path, data_root: DataRoot) -> None:
    import_scip(data_root, pkgdemo_index)
    index = ScipDefinitionIndex.from_parquet(data_root.scip_occurrences_path)
    circle = index.symbols_in("shapes/circle.py", 8, 16)  # class Circle … area()
    assert circle is not None and circle[0] == PKG + "`shapes.circle`/Circle#"
    assert PKG + "`shapes.circle`/Circle#area()." in circle
    assert PKG + "`shapes.circle`/unit_circle()." not in circle
    assert index.symbols_in("shapes/circle.py", 19, 21) == [PKG + "`shapes.circle`/unit_circle()."]
    assert index.symbols_in("shapes/circle.py", 2, 3) == []
    assert index.symbols_in("web/not_indexed.ts", 1, 10) is None
    assert not any(s.startswith("local ") for s in index.symbols_in("report.py", 1, 100) or [])


def test_extract_facts_with_scip(pkgdemo_index: Path, pkgdemo_repo: Path, data_root: DataRoot) -> None:
    result = extract_facts(data_root, pkgdemo_repo, scip=pkgdemo_index)
    assert result.scip is not None and result.scip["documents"] == 4
    assert result.graph["source"] == "scip+tree-sitter"
    for path in (data_root.modules_path, data_root.symbol_edges_path, data_root.scip_occurrences_path,
                 data_root.scip_symbols_path):  # fmt: skip
        assert path.is_file()
    modules = {r["module_id"]: r for r in pq.read_table(data_root.modules_path).to_pylist()}
    assert modules["shapes"]["uri_prefix"] == "shapes/" and modules["report"]["out_deg"] == 1


def test_extract_facts_without_scip_writes_empty_scip_tables(data_root: DataRoot) -> None:
    result = extract_facts(data_root, TINY)
    assert result.scip is None and result.graph["source"] == "tree-sitter"
    assert pq.read_table(data_root.scip_occurrences_path).num_rows == 0
    assert pq.read_table(data_root.symbol_edges_path).num_rows == result.graph["edges"] > 100


def test_symbol_graph_json_conversion(tmp_path: Path, data_root: DataRoot) -> None:
    src = tmp_path / "symbol_graph.json"
    src.write_text(
        json.dumps(
            {
                "edges": [
                    {
                        "src": "a.f",
                        "dst": "b.g",
                        "edge": "calls",
                        "weight": 2,
                        "src_uri": "a.py",
                        "dst_uri": "b.py",
                    },
                    {"src": "a.f", "dst": "b.g", "edge": "calls"},
                    {"src_symbol": "a.K", "dst_symbol": "b.B", "edge": "inherits"},
                ]
            }
        )
    )
    result = convert_symbol_graph_json(data_root, src)
    assert result.edges == 2 and result.by_kind["calls"] == 1 and result.by_kind["inherits"] == 1
    rows = pq.read_table(data_root.symbol_edges_path).to_pylist()
    assert rows[1] == {"src_symbol": "a.f", "dst_symbol": "b.g", "edge": "calls", "weight": 3.0,
                       "src_uri": "a.py", "dst_uri": "b.py", "resolution": None}  # fmt: skip
    links = tmp_path / "node_link.json"
    links.write_text(
        json.dumps({"nodes": [{"id": "x"}], "links": [{"source": "x", "target": "y", "edge": "imports"}]})
    )
    assert convert_symbol_graph_json(data_root, links).by_kind["imports"] == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"edges": [{"src": "a", "dst": "b", "edge": "eats"}]},
         "{path}: edges[0].edge: unknown edge kind 'eats'"),
        ({"edges": [{"src": "a", "edge": "calls"}]}, "{path}: edges[0].dst: missing or not a string"),
        ({"edges": [{"src": "a", "dst": "b", "edge": "calls", "weight": -1}]},
         "{path}: edges[0].weight: expected a non-negative number, got -1"),
        ([1, 2], "{path}: expected an object with an `edges` (or node-link `links`) list"),
        ({"edges": [{"src": "a", "dst": "b", "edge": "calls", "resolution": "hunch"}]},
         "{path}: edges[0].resolution: unknown resolution 'hunch'"),
    ],
)  # fmt: skip
def test_symbol_graph_json_errors(tmp_path: Path, data_root: DataRoot, payload, message: str) -> None:
    src = tmp_path / "g.json"
    src.write_text(json.dumps(payload))
    with pytest.raises(InputError) as info:
        convert_symbol_graph_json(data_root, src)
    assert info.value.message == message.format(path=src)
    assert not data_root.symbol_edges_path.exists()


def test_extract_graph_flag_conflicts(tmp_path: Path, data_root: DataRoot) -> None:
    with pytest.raises(ConfigError, match="--from-json excludes REPO and --scip"):
        extract_graph(data_root, TINY, from_json=tmp_path / "g.json")
    with pytest.raises(ConfigError, match="nothing to read"):
        extract_graph(data_root, None)


def test_run_scip_without_indexed_languages_skips_scip(tmp_path: Path, data_root: DataRoot) -> None:
    repo = tmp_path / "goonly"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "a.go").write_text("package src\n\nfunc F() int { return 1 }\n")
    result = extract_facts(data_root, repo, run_scip=True)
    assert result.scip is None and result.scip_run is None
    assert result.modules["modules"] == 2  # src/a.go and the root module
    assert pq.read_table(data_root.scip_occurrences_path).num_rows == 0
