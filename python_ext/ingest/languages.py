"""Language detection and tree-sitter parsers.

:func:`detect_language` maps a path to a language name by its file name or extension (no
content sniffing). Languages in :data:`TREE_SITTER_LANGUAGES` are chunked along their syntax
tree with the grammar wheels (``tree_sitter_python`` …, which work offline); every other
detected language is a text language chunked by line windows.

Language names (the ``lang`` column of the chunks contract): ``python``, ``javascript``,
``typescript``, ``tsx``, ``go``, ``rust``, ``java`` (syntax-tree languages) and ``markdown``,
``yaml``, ``json``, ``toml``, ``sql``, ``shell``, ``text``, ``html``, ``css``, ``c``, ``cpp``,
``csharp``, ``ruby``, ``php``, ``kotlin``, ``scala``, ``swift``, ``restructuredtext``, ``ini``,
``xml``, ``dockerfile``, ``makefile`` (line-window languages).
"""

from __future__ import annotations

import functools
import importlib
from pathlib import PurePosixPath

import tree_sitter

from python_ext.errors import MissingDependencyError

#: Languages with a tree-sitter grammar (chunked along the syntax tree).
TREE_SITTER_LANGUAGES: frozenset[str] = frozenset(
    {"python", "javascript", "typescript", "tsx", "go", "rust", "java"}
)

#: Extension (lower case, with the dot) → language name.
EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    # line-window (text) languages
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "restructuredtext",
    ".txt": "text",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".toml": "toml",
    ".ini": "ini",
    ".cfg": "ini",
    ".sql": "sql",
    ".sh": "shell",
    ".bash": "shell",
    ".zsh": "shell",
    ".html": "html",
    ".htm": "html",
    ".css": "css",
    ".scss": "css",
    ".xml": "xml",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".scala": "scala",
    ".swift": "swift",
}

#: Exact file names (no extension) → language name.
FILENAMES: dict[str, str] = {
    "Dockerfile": "dockerfile",
    "Makefile": "makefile",
    "makefile": "makefile",
    "GNUmakefile": "makefile",
    "README": "text",
    "LICENSE": "text",
    "CHANGELOG": "text",
}

#: Every language name :func:`detect_language` can return.
ALL_LANGUAGES: frozenset[str] = frozenset(EXTENSIONS.values()) | frozenset(FILENAMES.values())

#: Language → (grammar module, function returning the language pointer).
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
}


def detect_language(path: str) -> str | None:
    """Return the language of ``path`` from its name, or None when it is not a source/text file.

    :param path: a file path (repository-relative or absolute, any separator style).
    :returns: a language name from :data:`ALL_LANGUAGES`, or None.
    """
    name = PurePosixPath(str(path).replace("\\", "/")).name
    if name in FILENAMES:
        return FILENAMES[name]
    suffix = PurePosixPath(name).suffix.lower()
    return EXTENSIONS.get(suffix)


def is_tree_sitter_language(lang: str) -> bool:
    """True when ``lang`` is chunked along a tree-sitter syntax tree."""
    return lang in TREE_SITTER_LANGUAGES


@functools.cache
def language_for(lang: str) -> tree_sitter.Language:
    """Return the (cached) tree-sitter :class:`~tree_sitter.Language` for ``lang``.

    :param lang: one of :data:`TREE_SITTER_LANGUAGES`.
    :raises ValueError: when ``lang`` has no grammar.
    :raises MissingDependencyError: when the grammar wheel is not installed.
    """
    if lang not in _GRAMMARS:
        raise ValueError(f"no tree-sitter grammar for language {lang!r}")
    module_name, func_name = _GRAMMARS[lang]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        package = module_name.replace("_", "-")
        raise MissingDependencyError(
            f"the tree-sitter grammar for {lang} ({module_name}) is not installed",
            hint=f"pip install '{package}' (or reinstall codeintel-catalog)",
        ) from exc
    return tree_sitter.Language(getattr(module, func_name)())


@functools.cache
def parser_for(lang: str) -> tree_sitter.Parser:
    """Return a cached tree-sitter :class:`~tree_sitter.Parser` for ``lang``.

    The parser is shared per process and per language; ``parser.parse(source_bytes)`` is the
    only call the library makes on it, so sharing it is safe in single-threaded code.

    :param lang: one of :data:`TREE_SITTER_LANGUAGES`.
    """
    return tree_sitter.Parser(language_for(lang))
