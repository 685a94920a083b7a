"""Walk a repository and pick the files worth chunking, counting everything skipped and why.

Rules, in the order they are applied:

1. **directories**: ``.git``/VCS folders and vendored or build-output folders
   (:data:`VENDORED_DIRS`: ``node_modules``, ``vendor``, ``third_party``, ``dist``, ``build``,
   virtual environments, caches …) are not entered (``skipped_dirs["vendored"]``); a folder
   matched by a ``.gitignore`` is not entered either (``skipped_dirs["gitignored"]``), nor one
   that cannot be listed (``unreadable``) or whose ``.gitignore`` cannot be read
   (``gitignore_unreadable``, with a warning: its exclusions are unknown; an unreadable root
   ``.gitignore`` stops the walk with an :class:`~python_ext.errors.InputError`).
2. **.gitignore**: every ``.gitignore`` from the repository root down to the file's folder
   applies, with git's precedence (the deepest file that has a matching pattern decides, and
   ``!pattern`` re-includes). ``.git/info/exclude`` and global excludes are not read. Lines
   git ignores (invalid patterns such as a trailing ``\\`` or a lone ``!``) are skipped with
   a warning, never fatal.
3. **names**: a file or folder name that is not valid UTF-8 or holds a backslash cannot be a
   ``uri`` (``unsupported_name``).
4. **symlinks** are not followed (``symlink``).
5. **size**: files over ``max_file_bytes`` (``too_large``).
6. **binary**: a known binary extension or a NUL byte in the first 8 KiB (``binary``).
7. **language**: files whose name maps to no language (``unsupported``) or to a language not in
   ``languages`` (``language_filtered``).
8. **encoding**: files that are not valid UTF-8 (``not_utf8``) or cannot be read
   (``unreadable``) are skipped and counted, never fatal.
9. **minified**: ``*.min.js``/``*.min.css`` and JavaScript/TypeScript/CSS/JSON files whose
   average line is longer than 300 characters (``minified``).
10. **generated**: ``*_pb2.py``, ``*_pb2_grpc.py``, ``*.pb.go``, ``*.generated.*`` and files whose
   first 5 lines say ``Code generated … DO NOT EDIT``, ``@generated`` or ``auto-generated``
   (``generated``).

On top of these, the user's **scope** (:class:`python_ext.ingest.scope.IngestScope`):
``.codeintelignore`` at the root (``codeintelignored``), ``--exclude`` (``excluded``) and
``--include`` (``not_included``) globs, checked right after ``.gitignore`` (folders they match
are not entered), and the default skips of changelogs (``changelog``) and lock files
(``lockfile``), checked before the size; ``.codeintelignore``'s ``!pattern`` keeps a file the
default skips (generated code included) would leave out.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec
import xxhash

from python_ext.errors import ConfigError, IndexctlWarning, InputError, RepositoryNotFoundError
from python_ext.ingest.scope import SCOPE_REASONS, IngestScope
from python_ext.lang.detect import ALL_LANGUAGES, detect_language
from python_ext.progress import NULL_PROGRESS, Reporter

#: Default size limit per file (bytes).
DEFAULT_MAX_FILE_BYTES = 1_000_000

#: Folder names never entered (vendored code, build outputs, VCS metadata, caches).
VENDORED_DIRS: frozenset[str] = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        "jspm_packages",
        "vendor",
        "vendors",
        "third_party",
        "third-party",
        "thirdparty",
        "external",
        "dist",
        "build",
        "out",
        "target",
        "site-packages",
        "dist-packages",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".cache",
        ".idea",
        ".vscode",
        ".gradle",
        ".next",
        ".nuxt",
        "coverage",
        ".eggs",
    }
)

#: Extensions that are always binary (checked before reading the file).
BINARY_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tif", ".tiff", ".psd",
        ".pdf", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".tar", ".jar",
        ".war", ".whl", ".egg", ".so", ".dylib", ".dll", ".exe", ".o", ".a", ".lib", ".obj",
        ".class", ".pyc", ".pyo", ".pyd", ".wasm", ".bin", ".dat", ".db", ".sqlite", ".duckdb",
        ".parquet", ".arrow", ".feather", ".npy", ".npz", ".pkl", ".pickle", ".pt", ".onnx",
        ".safetensors", ".faiss", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".mp4",
        ".wav", ".ogg", ".flac", ".avi", ".mov", ".mkv", ".webm",
    }
)  # fmt: skip

_MINIFIED_LANGS = frozenset({"javascript", "typescript", "tsx", "css", "json"})
_GENERATED_NAME = re.compile(r"(_pb2(_grpc)?\.pyi?|\.pb\.go|\.generated\.[A-Za-z0-9]+|\.g\.dart)$")
_GENERATED_HEADER = re.compile(
    rb"(code generated .{0,200}do not edit|@generated\b|auto-?generated|generated by the protocol buffer)",
    re.IGNORECASE,
)

#: Every skip reason that can appear in :attr:`WalkResult.skipped`.
SKIP_REASONS = (
    "gitignored",
    "vendored",
    "symlink",
    "too_large",
    "binary",
    "unsupported",
    "language_filtered",
    "unreadable",
    "not_utf8",
    "minified",
    "generated",
    "unsupported_name",
    *SCOPE_REASONS,
)


@dataclass(frozen=True)
class SourceFile:
    """One file selected for chunking.

    :param uri: repository-relative POSIX path (the ``uri`` column).
    :param path: absolute path on disk.
    :param lang: language name (see :mod:`python_ext.lang.detect`).
    :param data: the file's bytes (valid UTF-8).
    :param file_hash: xxh64 hex of ``data``.
    """

    uri: str
    path: Path
    lang: str
    data: bytes = field(repr=False, compare=False)
    file_hash: str = ""

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


@dataclass
class WalkResult:
    """Files selected by :func:`walk_repository` and what was skipped.

    :param root: the repository root (absolute).
    :param files: selected files sorted by uri.
    :param skipped: skipped *files* per reason.
    :param skipped_dirs: folders not entered per reason (``vendored``, ``gitignored``,
        ``codeintelignored``, ``excluded``).
    :param examples: up to 5 skipped uris per reason (for messages and tests).
    :param scope: the user's scope the walk applied.
    """

    root: Path
    files: list[SourceFile] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_dirs: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    scope: IngestScope = field(default_factory=IngestScope)

    def skip(self, reason: str, uri: str) -> None:
        self.skipped[reason] += 1
        bucket = self.examples.setdefault(reason, [])
        if len(bucket) < 5:
            bucket.append(uri)

    def note_dir(self, reason: str, rel: str) -> None:
        """Keep up to 5 example folders skipped for ``reason`` (under ``examples["dir:<reason>"]``)."""
        bucket = self.examples.setdefault(f"dir:{reason}", [])
        if len(bucket) < 5:
            bucket.append(rel + "/")

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def normalize_languages(languages: Iterable[str] | str | None) -> frozenset[str] | None:
    """Parse a language filter (``"python,go"`` or a list) into a set; None means all.

    :raises ConfigError: for a language name :func:`detect_language` never returns.
    """
    if languages is None:
        return None
    items = languages.split(",") if isinstance(languages, str) else list(languages)
    chosen = frozenset(item.strip().lower() for item in items if item.strip())
    unknown = sorted(chosen - ALL_LANGUAGES)
    if unknown:
        raise ConfigError(
            f"unknown language(s) in --languages: {', '.join(unknown)}",
            hint=f"choose from: {', '.join(sorted(ALL_LANGUAGES))}",
        )
    return chosen or None


class UnreadableIgnoreFile(Exception):
    """A ``.gitignore`` exists but cannot be read (its folder is then not entered)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def parse_gitignore(path: Path) -> pathspec.PathSpec:
    """The patterns of one ``.gitignore``, as git reads them.

    Lines git ignores are skipped, not fatal: a pattern pathspec cannot compile (``\\`` or
    ``foo\\`` with a trailing backslash, a lone ``!``, a bad ``[z-a]`` range) never matches in
    git either; each file with such lines gives one :class:`~python_ext.errors.IndexctlWarning`
    naming the lines.

    :raises UnreadableIgnoreFile: the file exists but cannot be read.
    """
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise UnreadableIgnoreFile(path, exc.strerror or str(exc)) from exc
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except (ValueError, re.error):  # GitWildMatchPatternError is a ValueError
        pass
    kept, bad = [], []
    for number, line in enumerate(lines, start=1):
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except (ValueError, re.error):  # GitWildMatchPatternError is a ValueError
            bad.append(f"{number} ({line!r})")
            continue
        kept.append(line)
    warnings.warn(
        IndexctlWarning(
            f"{path}: ignored {len(bad)} line(s) that are not valid gitignore patterns (git ignores "
            f"them too): line {', '.join(bad[:5])}{' …' if len(bad) > 5 else ''}"
        ),
        stacklevel=2,
    )
    return pathspec.GitIgnoreSpec.from_lines(kept)


class _IgnoreStack:
    """The ``.gitignore`` specs that apply inside one folder, deepest last."""

    def __init__(self, specs: tuple[tuple[str, pathspec.PathSpec], ...] = ()) -> None:
        self.specs = specs

    def child(self, rel_dir: str, abs_dir: Path) -> _IgnoreStack:
        """The stack inside ``abs_dir``.

        :raises UnreadableIgnoreFile: its ``.gitignore`` exists but cannot be read (a folder
            whose exclusions are unknown must not be ingested).
        """
        gitignore = abs_dir / ".gitignore"
        try:
            if not gitignore.is_file():
                return self
        except OSError:  # the folder itself cannot be searched: os.walk will skip it
            return self
        return _IgnoreStack((*self.specs, (rel_dir, parse_gitignore(gitignore))))

    def ignored(self, rel_path: str, is_dir: bool) -> bool:
        for base, spec in reversed(self.specs):
            local = rel_path[len(base) + 1 :] if base else rel_path
            result = spec.check_file(local + "/" if is_dir else local)
            if result.include is not None:
                return bool(result.include)
        return False


def representable_name(name: str) -> bool:
    """True when a file or folder name can be part of a chunk ``uri`` (docs/contracts.md).

    A uri is a UTF-8, POSIX path: names that are not valid UTF-8 (``os.walk`` hands them over
    with surrogate escapes) or that hold a backslash (a Windows separator to every consumer)
    cannot be represented and are skipped as ``unsupported_name``.
    """
    if "\\" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(rel: str) -> str:
    """``rel`` with undecodable bytes shown as ``\\xNN`` (for examples and messages)."""
    return os.fsencode(rel).decode("utf-8", errors="backslashreplace")


def is_generated(uri: str, head: bytes) -> bool:
    """True when the file name or its first 5 lines mark it as generated code."""
    if _GENERATED_NAME.search(uri):
        return True
    first_lines = b"\n".join(head.split(b"\n", 5)[:5])
    return bool(_GENERATED_HEADER.search(first_lines))


def is_minified(uri: str, lang: str, data: bytes) -> bool:
    """True for ``*.min.js``/``*.min.css`` and long-line JS/TS/CSS/JSON (average line > 300 chars)."""
    name = uri.rsplit("/", 1)[-1].lower()
    if ".min." in name:
        return True
    if lang not in _MINIFIED_LANGS or len(data) < 1024:
        return False
    lines = data.count(b"\n") + 1
    return len(data) / lines > 300


def resolve_repository(repo: str | os.PathLike[str]) -> Path:
    """The absolute root of ``repo``, checked to be an existing folder.

    :raises RepositoryNotFoundError: ``repo`` does not exist or is not a folder.
    """
    root = Path(repo).expanduser()
    if not root.exists():
        raise RepositoryNotFoundError(
            f"repository not found: {root}", hint="pass the path of an existing repository folder"
        )
    if not root.is_dir():
        raise RepositoryNotFoundError(
            f"repository path is not a folder: {root}", hint="pass the repository's root folder"
        )
    return root.resolve()


def walk_repository(
    repo: str | os.PathLike[str],
    *,
    languages: Iterable[str] | str | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    include: Iterable[str] | str | None = None,
    exclude: Iterable[str] | str | None = None,
    default_skips: bool = True,
    progress: Reporter = NULL_PROGRESS,
) -> WalkResult:
    """Select the source files of ``repo`` (see the module docstring for the rules).

    :param repo: repository root folder.
    :param languages: only these languages (names or ``"python,go"``); default all.
    :param max_file_bytes: skip files larger than this (default 1,000,000).
    :param include: only files matching one of these gitignore-style globs (list or
        ``"src/**,*.md"``); default all.
    :param exclude: leave out files and folders matching these globs.
    :param default_skips: skip changelogs, lock files and generated code (default True).
    :param progress: reporter for the "walking" task.
    :raises RepositoryNotFoundError: when ``repo`` does not exist or is not a folder.
    :raises ConfigError: an unknown language, or a glob or ``.codeintelignore`` line that is
        not valid gitignore syntax.
    """
    root = resolve_repository(repo)
    wanted = normalize_languages(languages)
    scope = IngestScope.load(root, include, exclude, default_skips)
    result = WalkResult(root=root, scope=scope)
    try:
        stacks: dict[str, _IgnoreStack] = {"": _IgnoreStack().child("", root)}
    except UnreadableIgnoreFile as exc:
        raise InputError(
            f"cannot read {exc.path} ({exc.reason}): without it, files it excludes would be ingested",
            hint="make it readable (or remove it), then ingest again",
        ) from exc

    def unreadable_dir(error: OSError) -> None:
        name = getattr(error, "filename", None)
        rel = Path(os.fsdecode(name)).relative_to(root).as_posix() if name else "?"
        result.skipped_dirs["unreadable"] += 1
        result.note_dir("unreadable", rel)

    with progress.task("walking files", total=None) as advance:
        for dirpath, dirnames, filenames in os.walk(
            root, topdown=True, onerror=unreadable_dir, followlinks=False
        ):
            abs_dir = Path(dirpath)
            rel_dir = "" if abs_dir == root else abs_dir.relative_to(root).as_posix()
            stack = stacks.pop(rel_dir, None) or _IgnoreStack()
            keep_dirs = []
            for name in sorted(dirnames):
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if name in VENDORED_DIRS:
                    result.skipped_dirs["vendored"] += 1
                    continue
                if not representable_name(name):
                    result.skipped_dirs["unsupported_name"] += 1
                    result.note_dir("unsupported_name", _printable(rel))
                    continue
                if (abs_dir / name).is_symlink():
                    result.skip("symlink", rel)
                    continue
                if stack.ignored(rel, is_dir=True):
                    result.skipped_dirs["gitignored"] += 1
                    continue
                scope_reason = scope.skip_dir(rel)
                if scope_reason is not None:
                    result.skipped_dirs[scope_reason] += 1
                    continue
                try:
                    stacks[rel] = stack.child(rel, abs_dir / name)
                except UnreadableIgnoreFile as exc:
                    result.skipped_dirs["gitignore_unreadable"] += 1
                    result.note_dir("gitignore_unreadable", rel)
                    warnings.warn(
                        IndexctlWarning(
                            f"{exc.path}: cannot read it ({exc.reason}); {rel}/ is not ingested, since "
                            "the files it excludes are unknown"
                        ),
                        stacklevel=2,
                    )
                    continue
                keep_dirs.append(name)
            dirnames[:] = keep_dirs
            for name in sorted(filenames):
                rel = f"{rel_dir}/{name}" if rel_dir else name
                advance(1)
                if not representable_name(name):
                    result.skip("unsupported_name", _printable(rel))
                    continue
                selected = _consider(abs_dir / name, rel, stack, wanted, max_file_bytes, result, scope)
                if selected is not None:
                    result.files.append(selected)
    result.files.sort(key=lambda f: f.uri)
    return result


def _consider(
    path: Path,
    uri: str,
    stack: _IgnoreStack,
    wanted: frozenset[str] | None,
    max_file_bytes: int,
    result: WalkResult,
    scope: IngestScope,
) -> SourceFile | None:
    if stack.ignored(uri, is_dir=False):
        result.skip("gitignored", uri)
        return None
    scope_reason, kept = scope.skip_file(uri)
    if scope_reason is not None:
        result.skip(scope_reason, uri)
        return None
    if path.is_symlink():
        result.skip("symlink", uri)
        return None
    try:
        size = path.stat().st_size
    except OSError:
        result.skip("unreadable", uri)
        return None
    if not path.is_file():
        result.skip("unreadable", uri)
        return None
    if size > max_file_bytes:
        result.skip("too_large", uri)
        return None
    if path.suffix.lower() in BINARY_EXTENSIONS:
        result.skip("binary", uri)
        return None
    lang = detect_language(uri)
    try:
        data = path.read_bytes()
    except OSError:
        result.skip("unreadable", uri)
        return None
    if b"\x00" in data[:8192]:
        result.skip("binary", uri)
        return None
    if lang is None:
        result.skip("unsupported", uri)
        return None
    if wanted is not None and lang not in wanted:
        result.skip("language_filtered", uri)
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        result.skip("not_utf8", uri)
        return None
    if is_minified(uri, lang, data):
        result.skip("minified", uri)
        return None
    if scope.skips_generated(kept) and is_generated(uri, data[:4096]):
        result.skip("generated", uri)
        return None
    return SourceFile(uri=uri, path=path, lang=lang, data=data, file_hash=xxhash.xxh64_hexdigest(data))
