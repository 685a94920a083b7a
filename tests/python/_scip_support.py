"""Session-scoped fixtures for the SCIP tests: one real scip-python run per test session.

Import the fixtures into a test module with ``from _scip_support import pkgdemo_index, pkgdemo_repo``.
scip-python is installed with npm into ``.cache/node`` when it is missing (as
``scripts/bootstrap.sh`` does); without npm the tests fail with a clear message, never skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from python_ext.errors import MissingDependencyError
from python_ext.facts.scip.indexer import (
    PROJECT_ROOT,
    SCIP_PYTHON_PACKAGE,
    SCIP_TYPESCRIPT_PACKAGE,
    find_scip_python,
    find_scip_typescript,
    run_scip_python,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "scip"
PKGDEMO = FIXTURES / "pkgdemo"
PKGDEMO_JSON = FIXTURES / "pkgdemo.scip.json"


def ensure_scip_python() -> Path:
    """Find scip-python, installing it with npm into .cache/node if needed (fails without npm)."""
    return _ensure(find_scip_python, SCIP_PYTHON_PACKAGE)


def ensure_scip_typescript() -> Path:
    """Find scip-typescript, installing it with npm into .cache/node if needed (fails without npm)."""
    return _ensure(find_scip_typescript, SCIP_TYPESCRIPT_PACKAGE)


def _ensure(find, package: str) -> Path:  # type: ignore[no-untyped-def]
    try:
        return find()
    except MissingDependencyError:
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(
                f"{package} is not installed and npm is not on PATH: install Node.js + npm, then run "
                f"`bash scripts/bootstrap.sh` (npm install {package})",
                pytrace=False,
            )
        prefix = PROJECT_ROOT / ".cache" / "node"
        prefix.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [
                npm,
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(prefix),
                package,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0:
            pytest.fail(f"npm install {package} failed: {proc.stderr[-2000:]}", pytrace=False)
        return find()


# The fixtures are imported into several test modules, which gives each module its own copy of
# the fixture; the results are therefore kept under the session's base temp directory and made
# only once per test session.


@pytest.fixture(scope="session")
def pkgdemo_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the pkgdemo fixture package (one per test session)."""
    dest = tmp_path_factory.getbasetemp() / "pkgdemo-src" / "pkgdemo"
    if not dest.is_dir():
        shutil.copytree(PKGDEMO, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture(scope="session")
def pkgdemo_index(pkgdemo_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real index.scip written by scip-python over pkgdemo, once per test session."""
    out = tmp_path_factory.getbasetemp() / "pkgdemo-index" / "index.scip"
    if not out.is_file():
        ensure_scip_python()
        run_scip_python(pkgdemo_repo, out, project_name="pkgdemo")
    return out
