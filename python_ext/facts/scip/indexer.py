"""Run the SCIP indexers over a repository: ``@sourcegraph/scip-python`` for Python and
``@sourcegraph/scip-typescript`` for TypeScript and JavaScript.

Each executable is looked up, in order, in its environment variable (``$CODEINTEL_SCIP_PYTHON``,
``$CODEINTEL_SCIP_TYPESCRIPT``), on ``PATH``, and in ``.cache/node/node_modules/.bin/`` of the
project checkout or of the current directory (where ``scripts/bootstrap.sh`` installs both with
npm). They are node scripts, so ``node`` must be on ``PATH`` too.
:func:`run_scip_indexers` runs every indexer whose language the repository has.

The run is offline: ``--environment`` receives an empty package list so scip-python does not
query pip, and ``--project-version`` defaults to ``0`` so symbols are stable across commits
(scip-python would otherwise embed the git revision, and fails outside a git checkout).

The sources are always indexed from a temporary copy, so no indexer ever writes into the
repository and the relative paths in the index stay the same. The copy holds only regular files:
no symlink (one could point out of the repository and bring outside text into the data root) and
no FIFO (an indexer would block or crash on it); folders are never followed through symlinks.

For scip-python the copy holds the Python files and the root ``pyproject.toml``/
``pyrightconfig.json``. That also pins pyright's project root: pyright picks the nearest
``pyproject.toml``/``pyrightconfig.json`` walking *up*, and a parent project's file would make
module names relative to that parent (``tests.fixtures.x.mod`` instead of ``mod``).

For scip-typescript the copy holds the TypeScript/JavaScript sources (and the
``tsconfig*.json``/``package.json`` files) and gets a ``tsconfig.json`` of its own (``allowJs``,
every source included) when the repository has none at its root; ``node_modules`` are not copied
and nothing is downloaded (types of dependencies that are not in the repository stay unresolved).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from python_ext.atomic import atomic_path
from python_ext.config import PROJECT_ROOT
from python_ext.errors import MissingDependencyError, ScipIndexError
from python_ext.progress import NULL_PROGRESS, Reporter

SCIP_PYTHON_ENV = "CODEINTEL_SCIP_PYTHON"
SCIP_PYTHON_PACKAGE = "@sourcegraph/scip-python@0.6.6"
SCIP_TYPESCRIPT_ENV = "CODEINTEL_SCIP_TYPESCRIPT"
SCIP_TYPESCRIPT_PACKAGE = "@sourcegraph/scip-typescript@0.4.0"
INSTALL_HINT = (
    "run `bash scripts/bootstrap.sh` (or `npm install --prefix .cache/node "
    f"{SCIP_PYTHON_PACKAGE}`), or point ${SCIP_PYTHON_ENV} at a scip-python executable"
)
TS_INSTALL_HINT = (
    "run `bash scripts/bootstrap.sh` (or `npm install --prefix .cache/node "
    f"{SCIP_TYPESCRIPT_PACKAGE}`), or point ${SCIP_TYPESCRIPT_ENV} at a scip-typescript executable"
)
#: Source suffixes scip-typescript indexes.
TS_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
_CONFIG_FILES = ("pyproject.toml", "pyrightconfig.json")
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache"}
#: Folders left out of the TypeScript copy (build outputs and vendored code, as the ingest walk).
_TS_SKIP_DIRS = _SKIP_DIRS | {"dist", "build", "out", "vendor", "bower_components", "coverage", ".next"}


def _find_indexer(name: str, env_var: str, hint: str) -> Path:
    candidates: list[Path] = []
    env = os.environ.get(env_var)
    if env:
        candidate = Path(env).expanduser()
        if not candidate.is_file():
            raise MissingDependencyError(f"${env_var} points at {candidate}, which does not exist", hint=hint)
        candidates.append(candidate)
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for base in (PROJECT_ROOT, Path.cwd()):
        candidates.append(base / ".cache" / "node" / "node_modules" / ".bin" / name)
    found = next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)
    if found is None:
        raise MissingDependencyError(f"{name} is not installed", hint=hint)
    if shutil.which("node") is None:
        raise MissingDependencyError(
            f"node is not on PATH; {name} needs Node.js (18 or newer)",
            hint="install Node.js (e.g. `apt-get install nodejs npm`), then " + hint,
        )
    return found


def find_scip_python() -> Path:
    """Locate the scip-python executable (and check that node is available).

    :raises MissingDependencyError: scip-python or node cannot be found.
    """
    return _find_indexer("scip-python", SCIP_PYTHON_ENV, INSTALL_HINT)


def find_scip_typescript() -> Path:
    """Locate the scip-typescript executable (and check that node is available).

    :raises MissingDependencyError: scip-typescript or node cannot be found.
    """
    return _find_indexer("scip-typescript", SCIP_TYPESCRIPT_ENV, TS_INSTALL_HINT)


@dataclass
class ScipIndexResult:
    """Outcome of one indexer run (``indexer``: ``scip-python`` or ``scip-typescript``)."""

    index: str
    repo: str
    project_name: str
    project_version: str
    executable: str
    seconds: float
    size_bytes: int
    copied_sources: bool
    indexer: str = "scip-python"
    files: int = 0

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _is_regular_file(path: Path) -> bool:
    """True for a regular file (never through a symlink; FIFOs, devices, sockets are not)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _copy_file(source: Path, target: Path) -> bool:
    """Copy one regular file (never through a symlink); False when it cannot be read."""
    if not _is_regular_file(source):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(source, target, follow_symlinks=False)
    except OSError:  # unreadable: the indexer could not read it either
        return False
    return True


def _copy_python_sources(repo: Path, dest: Path) -> int:
    """Copy the repository's Python files and its root pyright/pyproject configuration."""
    return _copy_sources(repo, dest, (".py", ".pyi"), root_configs=_CONFIG_FILES)


def _copy_sources(
    repo: Path,
    dest: Path,
    suffixes: tuple[str, ...],
    extra: tuple[str, ...] = (),
    root_configs: tuple[str, ...] = (),
) -> int:
    """Copy the regular files with these suffixes (and files named in ``extra`` anywhere, and in
    ``root_configs`` at the root), skipping VCS, vendored and hidden folders and never following
    a symlink; returns how many source files were copied."""
    copied = 0
    skip = _TS_SKIP_DIRS if extra else _SKIP_DIRS
    for dirpath, dirnames, filenames in os.walk(repo, followlinks=False):
        dirnames[:] = [d for d in dirnames if d not in skip and not d.startswith(".")]
        rel = Path(dirpath).relative_to(repo)
        for name in filenames:
            source, target = Path(dirpath) / name, dest / rel / name
            is_config = (
                name in extra
                or (extra and name.startswith("tsconfig") and name.endswith(".json"))
                or (not rel.parts and name in root_configs)
            )
            if is_config:
                _copy_file(source, target)
            elif name.endswith(suffixes) and not name.endswith(".d.ts.map"):
                copied += _copy_file(source, target)
    return copied


def _publish_index(
    tool: str, proc: subprocess.CompletedProcess[str], tmp_out: Path, output: Path, repo: Path
) -> None:
    """Copy the index ``tool`` wrote to ``output`` atomically, or raise with its output's tail."""
    if proc.returncode != 0 or not tmp_out.is_file():
        tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-8:])
        raise ScipIndexError(
            f"{tool} failed on {repo} (exit {proc.returncode}): {tail}",
            hint=f"run {tool} yourself to see its full output, then pass --scip INDEX",
        )
    with atomic_path(output) as published:
        shutil.copyfile(tmp_out, published)


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
        _publish_index("scip-python", proc, tmp_out, output, repo)
    return ScipIndexResult(
        index=str(output),
        repo=str(repo),
        project_name=name,
        project_version=project_version,
        executable=str(exe),
        seconds=round(time.perf_counter() - started, 3),
        size_bytes=output.stat().st_size,
        copied_sources=copied,
        indexer="scip-python",
        files=count,
    )


#: tsconfig.json written into the copy when the repository has none at its root.
_INFERRED_TSCONFIG = """{
  "compilerOptions": {"allowJs": true, "checkJs": false, "noEmit": true, "jsx": "preserve",
                      "target": "es2020", "module": "esnext", "moduleResolution": "node",
                      "skipLibCheck": true},
  "include": ["**/*"],
  "exclude": ["node_modules"]
}
"""


def _copy_listed(repo: Path, dest: Path, uris: Iterable[str]) -> int:
    count = 0
    for uri in uris:
        if uri.endswith(TS_SUFFIXES):
            count += _copy_file(repo / uri, dest / uri)
    for pattern in ("tsconfig*.json", "jsconfig.json", "package.json"):
        for config in repo.glob(pattern):
            _copy_file(config, dest / config.name)
    return count


def run_scip_typescript(
    repo: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    files: Iterable[str] | None = None,
    timeout: float = 1800.0,
    progress: Reporter = NULL_PROGRESS,
) -> ScipIndexResult:
    """Index the TypeScript and JavaScript of ``repo`` with scip-typescript into ``output``.

    The sources are indexed from a temporary copy (see the module docstring), so the
    repository is never written to; documents keep their repository-relative paths. When the
    repository's own ``tsconfig.json`` does not work on the copy (it names files outside it,
    say), the run is repeated once with the inferred configuration.

    :param files: repository-relative paths to index (the ingest passes the files it walked);
        default every TS/JS file outside VCS, vendored and hidden folders.

    :raises RepositoryNotFoundError: ``repo`` is not a directory.
    :raises MissingDependencyError: scip-typescript or node is missing.
    :raises ScipIndexError: no TypeScript/JavaScript file, or scip-typescript failed.
    """
    from python_ext.ingest.walk import resolve_repository

    repo = resolve_repository(repo)
    exe = find_scip_typescript()
    output = Path(output).expanduser().resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="codeintel-scip-ts-") as tmp:
        workdir = Path(tmp) / "src" / repo.name
        workdir.mkdir(parents=True)
        if files is not None:
            count = _copy_listed(repo, workdir, files)
        else:
            count = _copy_sources(repo, workdir, TS_SUFFIXES, extra=("package.json", "jsconfig.json"))
        if count == 0:
            raise ScipIndexError(
                f"no TypeScript or JavaScript files under {repo}",
                hint="scip-typescript indexes .ts/.tsx/.js/.jsx files; pass --scip with another index",
            )
        own_config = (workdir / "tsconfig.json").is_file()
        if not own_config:
            (workdir / "tsconfig.json").write_text(_INFERRED_TSCONFIG, encoding="utf-8")
        tmp_out = Path(tmp) / "index.scip"
        cmd = [str(exe), "index", "--cwd", str(workdir), "--output", str(tmp_out), "--no-progress-bar"]
        with progress.task(f"scip-typescript index {repo.name}", total=None):
            proc = _run(cmd, workdir, timeout, repo)
            if own_config and (proc.returncode != 0 or not tmp_out.is_file() or tmp_out.stat().st_size < 64):
                (workdir / "tsconfig.json").write_text(_INFERRED_TSCONFIG, encoding="utf-8")
                proc = _run(cmd, workdir, timeout, repo)
        _publish_index("scip-typescript", proc, tmp_out, output, repo)
    return ScipIndexResult(
        index=str(output),
        repo=str(repo),
        project_name=repo.name,
        project_version="",
        executable=str(exe),
        seconds=round(time.perf_counter() - started, 3),
        size_bytes=output.stat().st_size,
        copied_sources=True,
        indexer="scip-typescript",
        files=count,
    )


def _run(cmd: list[str], workdir: Path, timeout: float, repo: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ScipIndexError(
            f"scip-typescript did not finish within {timeout:.0f} s on {repo}",
            hint="index a smaller tree, or run scip-typescript yourself and pass --scip INDEX",
        ) from exc


#: Languages (of :mod:`python_ext.lang.detect`) each indexer covers.
INDEXER_LANGUAGES: dict[str, frozenset[str]] = {
    "scip-python": frozenset({"python"}),
    "scip-typescript": frozenset({"typescript", "tsx", "javascript"}),
}


def available_indexers() -> dict[str, str]:
    """``{indexer: ""}`` for every indexer that can run here, ``{indexer: why not}`` otherwise."""
    out: dict[str, str] = {}
    for name, finder in (("scip-python", find_scip_python), ("scip-typescript", find_scip_typescript)):
        try:
            finder()
            out[name] = ""
        except MissingDependencyError as exc:
            out[name] = str(exc)
    return out


def run_scip_indexers(
    repo: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    languages: set[str],
    *,
    files: Iterable[str] | None = None,
    strict: bool = True,
    progress: Reporter = NULL_PROGRESS,
) -> list[ScipIndexResult]:
    """Run every indexer one of whose ``languages`` the repository has (scip-python →
    ``index.scip``, scip-typescript → ``index-typescript.scip`` in ``output_dir``).

    :param files: the repository-relative files to index (scip-typescript copies only these).
    :param strict: raise when a needed indexer is not installed (default); otherwise skip it
        with a logged note and run the others (the pipeline's mode).
    :raises MissingDependencyError: ``strict`` and a needed indexer (or node) is missing.
    """
    out_dir = Path(output_dir)
    results: list[ScipIndexResult] = []
    why = available_indexers()
    for name, langs in INDEXER_LANGUAGES.items():
        if not languages & langs:
            continue
        if why[name]:
            if strict:
                (find_scip_python if name == "scip-python" else find_scip_typescript)()
            progress.log(f"Warning: {name} skipped: {why[name]}")
            continue
        if name == "scip-python":
            results.append(run_scip_python(repo, out_dir / "index.scip", progress=progress))
        else:
            target = out_dir / "index-typescript.scip"
            results.append(run_scip_typescript(repo, target, files=files, progress=progress))
    return results
