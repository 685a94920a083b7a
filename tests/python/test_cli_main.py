"""The `indexctl` entry point: --version, usage errors exit 2, --json errors are JSON, and text
from repositories, queries and error messages is printed as written, never as rich markup."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import python_ext

REPO = Path(__file__).resolve().parents[2]


def test_version(run_cli) -> None:
    res = run_cli("--version")
    assert res.exit_code == 0
    assert res.stdout.startswith(f"indexctl {python_ext.__version__} (duckdb ")
    assert "dbt-core 1.11" in res.stdout and "python 3." in res.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--no-such-flag",),
        ("index", "gc", "--keep", "abc"),
        ("index", "gc", "--keep", "-1"),
        ("index", "publish"),
        ("search",),
        ("catalog", "query"),
        ("catalog", "query", "select 1", "--max-rows", "0"),
        ("eval", "run", "--k", "0"),
        ("ingest", "--no-such-flag"),
        ("index", "build", "--metric", "cosine"),
        ("catalog", "refresh", "--var", "nonsense"),
        ("index", "info", "--version", "../x"),
    ],
)
def test_usage_errors_exit_2_everywhere(run_cli, tmp_path: Path, args: tuple[str, ...]) -> None:
    res = run_cli(*args, *(["--out", tmp_path / "data"] if args[0] == "index" else []))
    assert res.exit_code == 2, (args, res.stdout, res.stderr)
    assert "Error" in res.stderr


def test_json_errors_are_json(run_cli, tmp_path: Path) -> None:
    res = run_cli("index", "info", "--out", tmp_path / "none", "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)["error"]
    assert doc["type"] == "VersionNotFoundError" and doc["exit_code"] == 1
    assert doc["message"].startswith("no index version is published") and "index build" in doc["hint"]
    res = run_cli("index", "gc", "--keep", "abc", "--json", "--out", tmp_path / "none")
    assert res.exit_code == 2
    assert json.loads(res.stdout)["error"]["message"].startswith("Invalid value for '--keep'")
    res = run_cli("catalog", "query", "copy (select 1) to 'x.csv'", "--db", tmp_path / "x.duckdb", "--json")
    assert res.exit_code == 1 and json.loads(res.stdout)["error"]["type"] == "CatalogError"


def test_markup_in_queries_repository_text_and_errors_prints_as_written(
    run_cli, tmp_path: Path, tiny_repo: Path
) -> None:
    """Reproductions: `indexctl search "[/x]"` and a docstring holding `[/b]` crashed search;
    error handlers died with raw tracebacks; query results rendered `[link=…]` as a link."""
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(tiny_repo, repo)
    (repo / "markup.py").write_text(
        'def styled():\n    """Closes a tag: [/b] and opens [link=https://example.com]a link[/link]."""\n'
        "    return '[bold red]not bold[/]'\n"
    )
    root = tmp_path / "data"
    assert run_cli("ingest", repo, "--out", root, "--embedder", "hashing", "-q").exit_code == 0
    assert run_cli("index", "build", "--out", root, "--factory", "Flat", "-q").exit_code == 0

    res = run_cli("search", "[/x]", "-k", "3", "--out", root)
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith("hybrid (") and "Traceback" not in res.stderr
    res = run_cli("search", "[/x] nothing matches this", "-k", "3", "--channel", "bm25", "--out", root)
    assert res.exit_code == 0 and "(no hits)" in res.stdout and "Traceback" not in res.stderr
    res = run_cli("search", "closes a tag [/b] link", "-k", "10", "--out", root)
    assert res.exit_code == 0, res.stderr
    assert "markup.py" in res.stdout and "[/b]" in res.stdout

    db = tmp_path / "q.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create table t as select '[link=https://example.com]click[/link] [bold]x[/bold]' as v")
    con.close()
    res = run_cli("catalog", "query", "select v from t", "--db", db)
    assert res.exit_code == 0
    assert "[link=https://example.com]click[/link] [bold]x[/bold]" in res.stdout
    assert "\x1b]8;" not in res.stdout  # no terminal hyperlink escape

    # an error message holding markup (DuckDB echoes the SQL) prints, instead of crashing
    res = run_cli("catalog", "query", "select [/b] from t", "--db", db)
    assert res.exit_code == 1 and "Traceback" not in res.stderr
    assert "Error: query" in res.stderr and "[/b]" in res.stderr


def test_a_real_process_prints_errors_not_tracebacks(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "python_ext", "search", "[/x] [bold]", "--out", str(tmp_path / "d"), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["error"]["type"] == "VersionNotFoundError"
