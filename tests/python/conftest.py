"""Shared pytest fixtures: paths, a temporary data root, and an in-process CLI runner."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from python_ext.config import DataRoot

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass
class CliResult:
    """Outcome of one in-process ``indexctl`` invocation."""

    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def repo_root() -> Path:
    """The project checkout (where dbt_project.yml lives)."""
    return REPO_ROOT


@pytest.fixture
def tiny_repo() -> Path:
    """A small real multi-language repository committed under fixtures/tiny_repo."""
    return FIXTURES / "tiny_repo"


@pytest.fixture
def data_root(tmp_path: Path) -> DataRoot:
    """An empty data root under pytest's tmp path."""
    return DataRoot(tmp_path / "data")


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``indexctl ARGS…`` in-process through ``python_ext.cli.main``; stdout/stderr apart."""
    from python_ext.cli import main

    def _run(*args: str | os.PathLike[str]) -> CliResult:
        capsys.readouterr()
        code = main([os.fspath(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return _run
