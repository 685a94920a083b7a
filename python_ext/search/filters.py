"""Search filters: which chunks a search may return, decided before ranking.

:class:`SearchFilters` holds the user's filters; :func:`python_ext.search.corpus.CorpusMeta.mask`
turns them into a bool mask over FAISS rows that both the dense and the BM25 channel apply
inside their search. Within one filter type the values are alternatives (``--lang python
--lang go``: either language); different types must all hold (``--lang python --include
'src/*'``: Python files under ``src/``).

* ``languages`` — language names as in the chunks' ``lang`` column (``python``, ``go``, …;
  case-insensitive; common short forms such as ``py``, ``ts``, ``rs``, ``md`` are accepted).
* ``include`` / ``exclude`` — globs over the repository-relative path, :func:`fnmatch.fnmatchcase`
  semantics: ``*`` and ``?`` match any character including ``/``, ``[seq]`` classes; a trailing
  ``/`` (or a pattern without wildcards that names a folder) means everything under it. Every
  other character is literal — ``%``, ``_`` and quotes included: patterns are matched in Python,
  never put into SQL.
* ``modules`` — module ids (``modules.parquet``, ``v_chunk_modules``): the module and its
  submodules (``python_ext.index`` also matches ``python_ext.index.build``).
* ``symbols`` — chunks that define or reference the symbol
  (:mod:`python_ext.search.symbols`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from python_ext.errors import UsageError
from python_ext.lang.detect import ALL_LANGUAGES

#: Short or alternative language names → the ``lang`` value they mean.
LANGUAGE_ALIASES: dict[str, str] = {
    "py": "python",
    "python3": "python",
    "js": "javascript",
    "jsx": "javascript",
    "node": "javascript",
    "ts": "typescript",
    "golang": "go",
    "rs": "rust",
    "md": "markdown",
    "yml": "yaml",
    "sh": "shell",
    "bash": "shell",
    "rst": "restructuredtext",
    "c++": "cpp",
    "cs": "csharp",
    "c#": "csharp",
    "rb": "ruby",
    "kt": "kotlin",
    "htm": "html",
}

FILTER_KINDS = ("none", "glob", "language", "module", "symbol", "combined")


def _tuple(values: str | Iterable[str] | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    return tuple(v for v in (str(x) for x in values))


def normalize_language(name: str) -> str:
    """The ``lang`` value a user's language name means.

    :raises UsageError: the name is not a language the chunker knows (the message lists them).
    """
    key = name.strip().lower()
    key = LANGUAGE_ALIASES.get(key, key)
    if key not in ALL_LANGUAGES:
        raise UsageError(
            f"unknown language {name!r}",
            hint=f"languages: {', '.join(sorted(ALL_LANGUAGES))} (or py, ts, js, rs, md, …)",
        )
    return key


@dataclass(frozen=True)
class SearchFilters:
    """The filters of one search (each a tuple of alternatives; empty = no filter)."""

    languages: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        lang: str | Iterable[str] | None = None,
        include: str | Iterable[str] | None = None,
        exclude: str | Iterable[str] | None = None,
        module: str | Iterable[str] | None = None,
        symbol: str | Iterable[str] | None = None,
    ) -> SearchFilters:
        """Check and normalize user values (a string or a list each).

        :raises UsageError: an unknown language, or an empty pattern, module or symbol.
        """
        languages = tuple(dict.fromkeys(normalize_language(x) for x in _tuple(lang)))
        for flag, values in (
            ("--include", _tuple(include)),
            ("--exclude", _tuple(exclude)),
            ("--module", _tuple(module)),
            ("--symbol", _tuple(symbol)),
        ):
            if any(not v.strip() for v in values):
                raise UsageError(f"{flag} needs a non-empty value", hint=f"e.g. {_EXAMPLES[flag]}")
        return cls(
            languages=languages,
            include=_tuple(include),
            exclude=_tuple(exclude),
            modules=tuple(v.strip() for v in _tuple(module)),
            symbols=tuple(v.strip() for v in _tuple(symbol)),
        )

    @property
    def is_empty(self) -> bool:
        return not (self.languages or self.include or self.exclude or self.modules or self.symbols)

    def kind(self) -> str:
        """The filter type for metrics: none, glob, language, module, symbol or combined."""
        kinds = [
            name
            for name, present in (
                ("glob", bool(self.include or self.exclude)),
                ("language", bool(self.languages)),
                ("module", bool(self.modules)),
                ("symbol", bool(self.symbols)),
            )
            if present
        ]
        if not kinds:
            return "none"
        return kinds[0] if len(kinds) == 1 else "combined"

    def describe(self) -> str:
        """The filters as flags (``--lang python --include 'src/*'``), for messages."""
        parts = []
        for flag, values in (
            ("--lang", self.languages),
            ("--include", self.include),
            ("--exclude", self.exclude),
            ("--module", self.modules),
            ("--symbol", self.symbols),
        ):
            parts += [f"{flag} {v!r}" if any(c in v for c in " *?[") else f"{flag} {v}" for v in values]
        return " ".join(parts) or "(no filter)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "languages": list(self.languages),
            "include": list(self.include),
            "exclude": list(self.exclude),
            "modules": list(self.modules),
            "symbols": list(self.symbols),
            "kind": self.kind(),
        }


_EXAMPLES = {
    "--include": "--include 'src/*.py'",
    "--exclude": "--exclude '*.md'",
    "--module": "--module python_ext.index",
    "--symbol": "--symbol load_index",
}
