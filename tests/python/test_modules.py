"""Modules: the module rule (one module per file by longest prefix), metrics and PageRank on the
tiny repository's documented import graph, modules.jsonl conversion."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from python_ext.config import DataRoot
from python_ext.contracts import MODULES_SCHEMA
from python_ext.errors import InputError
from python_ext.facts.modules import (
    SourceFile,
    build_modules,
    compute_modules,
    convert_modules_jsonl,
    extract_modules,
    file_metrics,
    iter_repo_files,
)

# tests/python/fixtures/tiny_repo/README.md: "Import graph" section
TINY_EDGES = {
    ("tinylib", "tinylib.geometry"),
    ("tinylib", "tinylib.textutil"),
    ("tinylib.geometry", "tinylib.geometry.shapes"),
    ("tinylib.geometry", "tinylib.geometry.vectors"),
    ("tinylib.geometry.base", "tinylib.geometry.vectors"),
    ("tinylib.geometry.shapes", "tinylib.geometry.base"),
    ("tinylib.geometry.shapes", "tinylib.geometry.vectors"),
    ("tinylib.report", "tinylib.geometry.shapes"),
    ("tinylib.report", "tinylib.textutil"),
    ("tinylib.cli", "tinylib.config"),
    ("tinylib.cli", "tinylib.geometry.shapes"),
    ("tinylib.cli", "tinylib.report"),
    ("tinylib.cli", "tinylib.textutil"),
}
TINY_PAGERANK = {
    "tinylib.geometry.vectors": 0.258,
    "tinylib.geometry.shapes": 0.140,
    "tinylib.textutil": 0.130,
    "tinylib.geometry.base": 0.120,
    "tinylib.geometry": 0.086,
    "tinylib.report": 0.073,
    "tinylib.config": 0.073,
    "tinylib": 0.060,
    "tinylib.cli": 0.060,
}


@pytest.fixture(scope="module")
def tiny_modules(tiny_repo_path: Path) -> dict[str, dict]:
    facts = compute_modules(list(iter_repo_files(tiny_repo_path)), tiny_repo_path)
    return {row["module_id"]: row for row in facts.rows}


@pytest.fixture(scope="module")
def tiny_repo_path() -> Path:
    return Path(__file__).resolve().parent / "fixtures" / "tiny_repo"


def test_tiny_repo_import_graph_and_pagerank(tiny_repo_path: Path, tiny_modules: dict[str, dict]) -> None:
    facts = compute_modules(list(iter_repo_files(tiny_repo_path)), tiny_repo_path)
    python_edges = {e for e in facts.edges if e[0].startswith("tinylib")}
    assert python_edges == TINY_EDGES
    for module_id, expected in TINY_PAGERANK.items():
        row = tiny_modules[module_id]
        assert row["language"] == "python"
        assert row["centrality"] == pytest.approx(expected, abs=5e-4), module_id
        assert row["in_deg"] == sum(1 for _, dst in TINY_EDGES if dst == module_id)
        assert row["out_deg"] == sum(1 for src, _ in TINY_EDGES if src == module_id)
    python_total = sum(r["centrality"] for r in tiny_modules.values() if r["language"] == "python")
    assert python_total == pytest.approx(1.0)


def test_tiny_repo_module_rule(tiny_modules: dict[str, dict]) -> None:
    prefixes = {mid: row["uri_prefix"] for mid, row in tiny_modules.items()}
    assert prefixes["tinylib"] == "tinylib/"
    assert prefixes["tinylib.geometry"] == "tinylib/geometry/"
    assert prefixes["tinylib.geometry.shapes"] == "tinylib/geometry/shapes.py"
    assert prefixes["web/util"] == "web/util.ts"
    assert prefixes["go"] == "go/"
    assert prefixes["org.tiny"] == "java/src/main/java/org/tiny/"
    assert prefixes["(root)"] == ""
    assert tiny_modules["web/util"]["in_deg"] == 2  # app.js ("./util.js") and Badge.tsx ("../util")
    assert len(set(prefixes.values())) == len(prefixes)


def test_every_file_maps_to_exactly_one_module(tiny_repo_path: Path, tiny_modules: dict[str, dict]) -> None:
    """Longest path-segment prefix (the catalog's join): the uri, its folders ``a/b/``, ``a/``, ``""``."""
    prefixes = [row["uri_prefix"] for row in tiny_modules.values()]
    for f in iter_repo_files(tiny_repo_path):
        parts = f.uri.split("/")
        ancestors = [f.uri] + ["/".join(parts[:i]) + "/" for i in range(len(parts) - 1, 0, -1)] + [""]
        matches = [a for a in ancestors if a in prefixes]
        assert matches, f.uri
        assert prefixes.count(matches[0]) == 1, f.uri


def _write(root: Path, files: dict[str, str]) -> list[SourceFile]:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return list(iter_repo_files(root))


def test_nested_packages_longest_prefix(tmp_path: Path) -> None:
    files = _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.sub import mod\n",
            "pkg/core.py": "X = 1\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/mod.py": "from ..core import X\n",
            "pkg/sub/data.json": "{}\n",
            "pkg/sub/deep/notes.md": "# notes\n",
            "scripts/run.py": "import pkg.sub.mod\n",
            "docs/guide.md": "# guide\n",
            "README.md": "# readme\n",
        },
    )
    module_map = build_modules(files, tmp_path)
    expected = {
        "pkg/__init__.py": "pkg",
        "pkg/core.py": "pkg.core",
        "pkg/sub/__init__.py": "pkg.sub",
        "pkg/sub/mod.py": "pkg.sub.mod",
        "pkg/sub/data.json": "pkg.sub",
        "pkg/sub/deep/notes.md": "pkg.sub",
        "scripts/run.py": "run",
        "docs/guide.md": "docs/",
        "README.md": "(root)",
    }
    assert {f.uri: module_map.module_of(f.uri).module_id for f in files} == expected
    for f in files:
        owners = [m for m in module_map.modules if f in m.files]
        assert len(owners) == 1
    facts = compute_modules(files, tmp_path)
    assert set(facts.edges) == {("pkg", "pkg.sub.mod"), ("pkg.sub.mod", "pkg.core"), ("run", "pkg.sub.mod")}


def test_cyclomatic_and_doc_coverage_by_hand(tmp_path: Path) -> None:
    source = '''\
        """Module doc."""


        def f(x, y):
            """Documented."""
            if x and y:
                return 1
            for i in range(3):
                if i:
                    pass
            return 0


        def g():
            return [a for a in range(3) if a]


        class K:
            def m(self):
                return 1 if self else 2
        '''
    files = _write(tmp_path, {"calc.py": source})
    metrics = file_metrics(files[0])
    assert metrics is not None
    # f: 1 + if + and + for + if = 5; g: 1 + for-clause + if-clause = 3; K.m: 1 + ternary = 2
    assert sorted(metrics.complexities) == [2, 3, 5]
    assert (metrics.definitions, metrics.documented) == (4, 1)  # f, g, K, K.m; only f has a docstring
    row = compute_modules(files, tmp_path).rows
    calc = next(r for r in row if r["module_id"] == "calc")
    assert calc["cyclomatic"] == pytest.approx(10 / 3, abs=1e-6)
    assert calc["doc_cov"] == 0.25
    assert calc["size_loc"] == sum(1 for line in textwrap.dedent(source).splitlines() if line.strip())


def test_extract_modules_writes_the_contract(tiny_repo_path: Path, data_root: DataRoot) -> None:
    result = extract_modules(data_root, tiny_repo_path)
    table = pq.read_table(data_root.modules_path)
    assert table.schema.equals(MODULES_SCHEMA)
    assert result.modules == table.num_rows == 17
    assert result.import_edges == 15


def test_modules_jsonl_conversion_and_checksum(tmp_path: Path, data_root: DataRoot) -> None:
    src = tmp_path / "modules.jsonl"
    rows = [
        {"module_id": "a", "uri_prefix": "a/", "language": "python", "size_loc": 10, "centrality": 0.5},
        {"module_id": "b", "uri_prefix": "b.py", "cyclomatic": 2},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    first = convert_modules_jsonl(data_root, src)
    assert (first.modules, first.skipped) == (2, False)
    table = pq.read_table(data_root.modules_path)
    assert table.schema.equals(MODULES_SCHEMA)
    assert table.to_pylist()[1] == {
        "module_id": "b", "uri_prefix": "b.py", "language": "text", "size_loc": 0, "cyclomatic": 2.0,
        "doc_cov": 0.0, "in_deg": 0, "out_deg": 0, "centrality": 0.0,
    }  # fmt: skip
    mtime = data_root.modules_path.stat().st_mtime_ns
    again = convert_modules_jsonl(data_root, src)
    assert again.skipped and data_root.modules_path.stat().st_mtime_ns == mtime
    forced = convert_modules_jsonl(data_root, src, force=True)
    assert not forced.skipped


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"module_id": "a"}'], "{path}:1: field uri_prefix is missing or not a string"),
        (['{"module_id": "a", "uri_prefix": "a/"}', "{oops"],
         "{path}:2: invalid JSON (Expecting property name enclosed in double quotes)"),
        (['{"module_id": "a", "uri_prefix": "a/", "size_loc": 1.5}'],
         "{path}:1: field size_loc must be an integer, got 1.5"),
        (['{"module_id": "a", "uri_prefix": "a/", "colour": 1}'], "{path}:1: unknown field(s) colour"),
        (['{"module_id": "a", "uri_prefix": "a/"}', '{"module_id": "b", "uri_prefix": "a/"}'],
         "{path}:2: duplicate uri_prefix 'a/' (first on line 1)"),
    ],
)  # fmt: skip
def test_modules_jsonl_errors(tmp_path: Path, data_root: DataRoot, lines: list[str], message: str) -> None:
    src = tmp_path / "modules.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        convert_modules_jsonl(data_root, src)
    assert info.value.message == message.format(path=src)
    assert not data_root.modules_path.exists()


def test_repository_that_is_itself_a_package(tmp_path: Path) -> None:
    """An installed package folder (``site-packages/mypkg``) is indexed as the package ``mypkg``."""
    root = tmp_path / "mypkg"
    files = _write(
        root,
        {
            "__init__.py": "from mypkg.core import run\n",
            "core.py": "def run():\n    return 1\n",
            "cli.py": "import mypkg\nfrom . import core\n",
            "util/__init__.py": "from core import run\n",  # how a tool rooted inside mypkg sees it
        },
    )
    facts = compute_modules(files, root)
    assert {r["module_id"]: r["uri_prefix"] for r in facts.rows} == {
        "mypkg": "",
        "mypkg.cli": "cli.py",
        "mypkg.core": "core.py",
        "mypkg.util": "util/",
    }
    assert set(facts.edges) == {
        ("mypkg", "mypkg.core"),
        ("mypkg.cli", "mypkg"),
        ("mypkg.cli", "mypkg.core"),
        ("mypkg.util", "mypkg.core"),
    }
