"""Syntax-tree metrics of a file: cyclomatic complexity per function and documented definitions.

**Metrics** (over the files that map to the module):

* ``size_loc`` — non-blank lines.
* ``cyclomatic`` — mean McCabe complexity per function (1 + decision points of the function's
  own body: branches, loops, ``case`` arms, ``catch``/``except``, ternaries, boolean ``and``/
  ``or``); a module with code but no function counts its top-level code as one unit; 0.0 for a
  module without syntax-tree code.
* ``doc_cov`` — documented definitions / definitions (functions, methods, classes/types); a
  Python definition is documented by a docstring, others by a comment ending on the line just
  above it. 0.0 when the module has no definitions.
* ``in_deg`` / ``out_deg`` — distinct modules importing it / imported by it (imports resolved
  within the repository; self-imports and external imports ignored).
* ``centrality`` — PageRank (networkx, damping 0.85) over the import graph of the module's
  language family (Python; JavaScript/TypeScript; Go; Rust; Java) — imports never cross
  families. Modules of other languages (text, catch-all) have centrality 0.0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from python_ext.ingest.walk import SourceFile
from python_ext.lang.detect import is_tree_sitter_language
from python_ext.lang.docs import documentation
from python_ext.lang.nodes import (
    ANONYMOUS_FUNCTIONS,
    BOOL_TOKENS,
    IMPORT_KINDS,
    SPECS,
    SyntaxSpec,
    find_groups,
    innermost,
    language_family,
    syntax_spec,
)
from python_ext.lang.parsers import parser_for


def metric_groups(lang: str) -> dict[str, Iterable[str]]:
    """The node-type groups :func:`file_metrics` and :func:`raw_imports` need."""
    spec = SPECS[lang]
    return {
        "functions": spec.functions,
        "classes": spec.classes,
        "decisions": spec.decisions,
        "booleans": spec.boolean_ops,
        "imports": IMPORT_KINDS.get(language_family(lang) or "", ()),
    }


def parse(file: SourceFile) -> Any | None:
    """The tree-sitter root node of ``file`` (None for text languages)."""
    if not is_tree_sitter_language(file.lang) or file.lang not in SPECS:
        return None
    return parser_for(file.lang).parse(file.data).root_node


def _is_decision(node: Any, spec: SyntaxSpec) -> bool:
    if node.type in spec.decisions:
        return True
    if node.type in spec.boolean_ops:
        op = node.child_by_field_name("operator")
        return op is not None and op.type in BOOL_TOKENS
    return False


@dataclass
class FileMetrics:
    """Syntax-tree metrics of one file."""

    complexities: list[int] = field(default_factory=list)  # one per function
    toplevel_complexity: int = 1
    definitions: int = 0
    documented: int = 0


def file_metrics(
    file: SourceFile, root: Any | None = None, groups: dict[str, list[Any]] | None = None
) -> FileMetrics | None:
    """Cyclomatic complexity per function and documented/total definitions of one file.

    :param groups: the file's :func:`metric_groups` nodes when already found.
    """
    spec = syntax_spec(file.lang)
    if spec is None:
        return None
    root = root if root is not None else parse(file)
    if root is None:
        return None
    metrics = FileMetrics()
    groups = groups if groups is not None else find_groups(file.lang, root, metric_groups(file.lang))
    functions = groups["functions"]
    for node in functions:
        if node.type not in ANONYMOUS_FUNCTIONS:
            metrics.definitions += 1
            metrics.documented += documentation(node, file.data, file.lang) is not None
    for node in groups["classes"]:
        metrics.definitions += 1
        metrics.documented += documentation(node, file.data, file.lang) is not None
    decisions = groups["decisions"] + [n for n in groups["booleans"] if _is_decision(n, spec)]
    owners = innermost(
        [(f.start_byte, f.end_byte, i) for i, f in enumerate(functions)], [d.start_byte for d in decisions]
    )
    counts = [1] * len(functions)
    top = 1
    for owner in owners:
        if owner >= 0:
            counts[owner] += 1
        else:
            top += 1
    metrics.complexities = counts
    metrics.toplevel_complexity = top
    return metrics
