"""Run the SCIP indexer for Python (``@sourcegraph/scip-python``) over a repository.

The executable is looked up, in order, in ``$CODEINTEL_SCIP_PYTHON``, on ``PATH``, and in
``.cache/node/node_modules/.bin/scip-python`` of the project checkout or of the current
directory (where ``scripts/bootstrap.sh`` installs it with npm). It is a node script, so
``node`` must be on ``PATH`` too.

The run is offline: ``--environment`` receives an empty package list so scip-python does not
query pip, and ``--project-version`` defaults to ``0`` so symbols are stable across commits
(scip-python would otherwise embed the git revision, and fails outside a git checkout).

The repository's regular Python files (and its root ``pyproject.toml``/``pyrightconfig.json``)
are indexed from a temporary copy; the relative paths in the index are the same. The copy
holds no symlink (one could point out of the repository and bring outside text into the data
root) and no FIFO (scip-python would block or crash on it). It also pins pyright's project
root: pyright picks the nearest ``pyproject.toml``/``pyrightconfig.json`` walking *up*, and a
parent project's file would make module names relative to that parent
(``tests.fixtures.x.mod`` instead of ``mod``).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from python_ext.atomic import atomic_path
from python_ext.config import PROJECT_ROOT
from python_ext.errors import MissingDependencyError, ScipIndexError
from python_ext.progress import NULL_PROGRESS, Reporter

SCIP_PYTHON_ENV = "CODEINTEL_SCIP_PYTHON"
SCIP_PYTHON_PACKAGE = "@sourcegraph/scip-python@0.6.6"
INSTALL_HINT = (
    "run `bash scripts/bootstrap.sh` (or `npm install --prefix .cache/node "
    f"{SCIP_PYTHON_PACKAGE}`), or point ${SCIP_PYTHON_ENV} at a scip-python executable"
)
_CONFIG_FILES = ("pyproject.toml", "pyrightconfig.json")
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache"}


def find_scip_python() -> Path:
    """Locate the scip-python executable (and check that node is available).

    :raises MissingDependencyError: scip-python or node cannot be found.
    """
    candidates: list[Path] = []
    env = os.environ.get(SCIP_PYTHON_ENV)
    if env:
        candidate = Path(env).expanduser()
        if not candidate.is_file():
            raise MissingDependencyError(
                f"${SCIP_PYTHON_ENV} points at {candidate}, which does not exist", hint=INSTALL_HINT
            )
        candidates.append(candidate)
    on_path = shutil.which("scip-python")
    if on_path:
        candidates.append(Path(on_path))
    for base in (PROJECT_ROOT, Path.cwd()):
        candidates.append(base / ".cache" / "node" / "node_modules" / ".bin" / "scip-python")
    found = next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)
    if found is None:
        raise MissingDependencyError("scip-python is not installed", hint=INSTALL_HINT)
    if shutil.which("node") is None:
        raise MissingDependencyError(
            "node is not on PATH; scip-python needs Node.js (18 or newer)",
            hint="install Node.js (e.g. `apt-get install nodejs npm`), then " + INSTALL_HINT,
        )
    return found


@dataclass
class ScipIndexResult:
    """Outcome of one scip-python run."""

    index: str
    repo: str
    project_name: str
    project_version: str
    executable: str
    seconds: float
    size_bytes: int
    copied_sources: bool

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _copy_python_sources(repo: Path, dest: Path) -> int:
    """Copy the repository's Python sources (and its pyright/pyproject configuration) to ``dest``.

    Only regular files are copied: a symlink (which could point out of the repository, e.g. at
    ``/etc/passwd``), a FIFO or a device is skipped, so scip-python never reads — and the data
    root never receives — text from outside the repository, and never blocks on a pipe.
    Folders are not followed through symlinks either.
    """
    copied = 0
    for dirpath, dirnames, filenames in os.walk(repo, followlinks=False):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")]
        rel = Path(dirpath).relative_to(repo)
        for name in filenames:
            is_config = not rel.parts and name in _CONFIG_FILES
            if not (name.endswith((".py", ".pyi")) or is_config):
                continue
            source = Path(dirpath) / name
            try:
                if not stat.S_ISREG(os.lstat(source).st_mode):
                    continue
            except OSError:
                continue
            target = dest / rel / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(source, target, follow_symlinks=False)
            except OSError:  # unreadable: scip-python could not read it either
                continue
            copied += not is_config
    return copied


def run_scip_python(
    repo: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    project_name: str | None = None,
    project_version: str = "0",
    timeout: float = 1800.0,
    progress: Reporter = NULL_PROGRESS,
) -> ScipIndexResult:
    """Index ``repo`` with scip-python and write the binary SCIP index to ``output``.

    :param repo: repository root to index.
    :param output: where to write ``index.scip`` (overwritten atomically on success).
    :param project_name: SCIP package name (default: the repository folder's name).
    :param project_version: SCIP package version (default ``0``: stable symbols).
    :param timeout: seconds before the run is abandoned (default 1800).
    :raises RepositoryNotFoundError: ``repo`` is not a directory.
    :raises MissingDependencyError: scip-python or node is missing.
    :raises ScipIndexError: scip-python failed or wrote no index.
    """
    from python_ext.ingest.walk import resolve_repository

    repo = resolve_repository(repo)
    exe = find_scip_python()
    output = Path(output).expanduser().resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    name = project_name or repo.name
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="codeintel-scip-") as tmp:
        tmp_dir = Path(tmp)
        env_file = tmp_dir / "environment.json"
        env_file.write_text("[]\n")
        # always index a copy of the regular Python files: scip-python (pyright) follows
        # symlinks and opens FIFOs; the copy holds neither. The relative paths are the same.
        copied = True
        workdir = tmp_dir / "src" / repo.name
        workdir.mkdir(parents=True)
        count = _copy_python_sources(repo, workdir)
        if count == 0:
            raise ScipIndexError(
                f"no Python files (*.py, *.pyi) under {repo}",
                hint="scip-python indexes Python only; pass --scip with an index from another indexer",
            )
        tmp_out = tmp_dir / "index.scip"
        cmd = [
            str(exe), "index", ".",
            "--project-name", name,
            "--project-version", project_version,
            "--output", str(tmp_out),
            "--environment", str(env_file),
            "--quiet",
        ]  # fmt: skip
        with progress.task(f"scip-python index {repo.name}", total=None):
            try:
                proc = subprocess.run(
                    cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise ScipIndexError(
                    f"scip-python did not finish within {timeout:.0f} s on {repo}",
                    hint="index a smaller tree, or run scip-python yourself and pass --scip INDEX",
                ) from exc
        if proc.returncode != 0 or not tmp_out.is_file():
            tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-8:])
            raise ScipIndexError(
                f"scip-python failed on {repo} (exit {proc.returncode}): {tail}",
                hint="run scip-python yourself to see its full output, then pass --scip INDEX",
            )
        with atomic_path(output) as published:
            shutil.copyfile(tmp_out, published)
    return ScipIndexResult(
        index=str(output),
        repo=str(repo),
        project_name=name,
        project_version=project_version,
        executable=str(exe),
        seconds=round(time.perf_counter() - started, 3),
        size_bytes=output.stat().st_size,
        copied_sources=copied,
    )
