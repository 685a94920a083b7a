"""Language detection: which language a file is written in, from its name.

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

from pathlib import PurePosixPath

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
