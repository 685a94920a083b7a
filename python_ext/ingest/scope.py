"""What a user asks to ingest: ``--include``/``--exclude`` globs, ``.codeintelignore``, and the
files skipped by default (changelogs, lock files, generated code).

:class:`IngestScope` is applied by :func:`python_ext.ingest.walk.walk_repository` on top of the
walk's own rules (VCS and vendored folders, ``.gitignore``, size, binary, encoding, language):

* ``.codeintelignore`` at the repository root, in gitignore syntax (``#`` comments, ``!``
  re-includes, a trailing ``/`` for folders, ``**``): matched files are skipped as
  ``codeintelignored``, matched folders are not entered. A ``!pattern`` line also keeps a file
  the defaults below would skip (``!CHANGELOG.md``).
* ``exclude`` globs (gitignore syntax, relative to the repository root): skipped as
  ``excluded``; matched folders are not entered.
* ``include`` globs: when given, only files matching one of them are ingested; the others are
  skipped as ``not_included``.
* **default skips** (``default_skips=True``): changelogs (``CHANGELOG``, ``CHANGES``,
  ``HISTORY``, ``NEWS``, ``RELEASE_NOTES``, ``RELEASES``, any case, bare or with a text
  extension such as ``.md``, ``.rst``, ``.txt``) as ``changelog``; lock files of package
  managers (``package-lock.json``, ``yarn.lock``, ``pnpm-lock.yaml``, ``Cargo.lock``,
  ``poetry.lock``, ``go.sum`` …) as ``lockfile``; generated code (see
  :func:`python_ext.ingest.walk.is_generated`) as ``generated``. A changelog is release notes,
  not code: in the rxjs npm package ``CHANGELOG.md`` alone gives 321 of 1,125 chunks and ranks
  second for "debounce user input".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from python_ext.errors import ConfigError

#: Name of the ignore file read at the repository root.
IGNORE_FILE = ".codeintelignore"

#: Lock files of package managers (exact file names).
LOCK_FILES: frozenset[str] = frozenset(
    {
        "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock",
        "bun.lockb", "deno.lock", "Cargo.lock", "poetry.lock", "Pipfile.lock", "pdm.lock", "uv.lock",
        "pylock.toml", "Gemfile.lock", "composer.lock", "go.sum", "go.work.sum", "mix.lock",
        "flake.lock", "packages.lock.json", "gradle.lockfile", "Podfile.lock", "pubspec.lock",
        "Package.resolved", "conda-lock.yml",
    }
)  # fmt: skip
_CHANGELOG = re.compile(
    r"^(change[-_ ]?log|changes|history|news|release[-_ ]?notes|releases)"
    r"(\.(md|markdown|rst|txt|text|adoc|asciidoc|org))?$",
    re.IGNORECASE,
)

#: Skip reasons added by the scope (see the module docstring).
SCOPE_REASONS = ("codeintelignored", "excluded", "not_included", "changelog", "lockfile")


def default_skip(uri: str) -> str | None:
    """``changelog`` or ``lockfile`` when the file name says so, else None."""
    name = uri.rsplit("/", 1)[-1]
    if name in LOCK_FILES:
        return "lockfile"
    if _CHANGELOG.match(name):
        return "changelog"
    return None


def _spec(lines: Iterable[str], where: str) -> pathspec.GitIgnoreSpec:
    try:
        return pathspec.GitIgnoreSpec.from_lines(list(lines))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: invalid pattern ({exc})", hint="patterns use gitignore syntax") from exc


@dataclass
class IngestScope:
    """The user's choice of files (see the module docstring).

    :param include: gitignore-style globs; when any is given only matching files are ingested.
    :param exclude: gitignore-style globs of files and folders to leave out.
    :param default_skips: skip changelogs, lock files and generated code (default True).
    :param ignore_lines: the lines of the repository's ``.codeintelignore`` (see :meth:`load`).
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    default_skips: bool = True
    ignore_lines: tuple[str, ...] = ()
    _include: pathspec.GitIgnoreSpec | None = field(default=None, init=False, repr=False)
    _exclude: pathspec.GitIgnoreSpec | None = field(default=None, init=False, repr=False)
    _ignore: pathspec.GitIgnoreSpec | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.include = tuple(p for p in self.include if p.strip())
        self.exclude = tuple(p for p in self.exclude if p.strip())
        self._include = _spec(self.include, "--include") if self.include else None
        self._exclude = _spec(self.exclude, "--exclude") if self.exclude else None
        self._ignore = _spec(self.ignore_lines, IGNORE_FILE) if self.ignore_lines else None

    @classmethod
    def load(
        cls,
        root: Path,
        include: Iterable[str] | str | None = None,
        exclude: Iterable[str] | str | None = None,
        default_skips: bool = True,
    ) -> IngestScope:
        """The scope of the repository at ``root``: the given globs plus its ``.codeintelignore``.

        ``include``/``exclude`` accept a list or one comma-separated string.
        """
        lines: tuple[str, ...] = ()
        ignore = root / IGNORE_FILE
        if ignore.is_file():
            try:
                lines = tuple(ignore.read_text(encoding="utf-8", errors="replace").splitlines())
            except OSError as exc:
                raise ConfigError(
                    f"{ignore}: cannot be read ({exc.strerror or exc})",
                    hint="fix its permissions or remove it",
                ) from exc
        return cls(_patterns(include), _patterns(exclude), default_skips, lines)

    def skip_dir(self, rel: str) -> str | None:
        """The reason a folder (repository-relative) is not entered, or None."""
        path = rel + "/"
        if self._ignore is not None and self._ignore.check_file(path).include:
            return "codeintelignored"
        if self._exclude is not None and self._exclude.match_file(path):
            return "excluded"
        return None

    def skip_file(self, uri: str) -> tuple[str | None, bool]:
        """``(reason, kept)`` for a file: the scope's skip reason (or None), and whether
        ``.codeintelignore`` explicitly re-includes it (``!pattern``: the default skips, the
        generated-code check included, do not apply)."""
        kept = False
        if self._ignore is not None:
            result = self._ignore.check_file(uri)
            if result.include:
                return "codeintelignored", False
            kept = result.include is False
        if self._exclude is not None and self._exclude.match_file(uri):
            return "excluded", kept
        if self._include is not None and not self._include.match_file(uri):
            return "not_included", kept
        if self.default_skips and not kept:
            reason = default_skip(uri)
            if reason is not None:
                return reason, kept
        return None, kept

    def skips_generated(self, kept: bool) -> bool:
        """True when generated files are skipped for a file with this ``kept`` flag."""
        return self.default_skips and not kept

    def to_dict(self) -> dict[str, object]:
        return {
            "include": list(self.include),
            "exclude": list(self.exclude),
            "default_skips": self.default_skips,
            "codeintelignore": bool(self.ignore_lines),
        }


def _patterns(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else [p for v in value for p in str(v).split(",")]
    return tuple(p.strip() for p in items if p.strip())
