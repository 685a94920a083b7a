"""tree-sitter grammars and parsers for the syntax-tree languages (offline grammar wheels).

Every stage that parses code (the chunker, the facts, the evaluation's docstring finder) takes
its :class:`~tree_sitter.Parser` from :func:`parser_for`, so a grammar is loaded once per
process.
"""

from __future__ import annotations

import functools
import importlib

import tree_sitter

from python_ext.errors import MissingDependencyError

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


@functools.cache
def language_for(lang: str) -> tree_sitter.Language:
    """Return the (cached) tree-sitter :class:`~tree_sitter.Language` for ``lang``.

    :param lang: one of :data:`~python_ext.lang.detect.TREE_SITTER_LANGUAGES`.
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

    :param lang: one of :data:`~python_ext.lang.detect.TREE_SITTER_LANGUAGES`.
    """
    return tree_sitter.Parser(language_for(lang))
