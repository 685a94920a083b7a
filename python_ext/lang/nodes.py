"""Per-language tree-sitter node tables and the queries that find those nodes.

One place for the node types every stage relies on: the chunker's atomic nodes, the metric and
graph node groups of the facts (:class:`SyntaxSpec`: functions, classes, decision points,
boolean operators, comments), import and call sites, and the function nodes the evaluation
reads docstrings from. :func:`find_groups` finds several groups in one query run.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import tree_sitter

from python_ext.lang.parsers import language_for

#: The JavaScript family (imports resolve across these).
JS_FAMILY = frozenset({"javascript", "typescript", "tsx"})


def language_family(lang: str) -> str | None:
    """The import-graph family of a language (None for languages without imports)."""
    if lang in JS_FAMILY:
        return "javascript"
    return lang if lang in ("python", "go", "rust", "java") else None


#: Node types never split (string literals, comments, regexes), besides leaf tokens.
ATOMIC_TYPES: frozenset[str] = frozenset(
    {
        "string",
        "string_literal",
        "raw_string_literal",
        "interpreted_string_literal",
        "template_string",
        "char_literal",
        "character_literal",
        "text_block",
        "regex",
        "comment",
        "line_comment",
        "block_comment",
        "html_comment",
    }
)


#: Siblings that belong to the declaration after them: comments, doc comments, attributes and
#: decorators (the chunker keeps them in the declaration's chunk). Java annotations and Python
#: decorators are inside their declaration's node already.
TRIVIA_TYPES: frozenset[str] = frozenset(
    {"comment", "line_comment", "block_comment", "html_comment", "attribute_item", "decorator"}
)


@dataclass(frozen=True)
class SyntaxSpec:
    """Node types used for metrics and the graph in one tree-sitter grammar."""

    functions: frozenset[str]
    classes: frozenset[str]
    decisions: frozenset[str]
    boolean_ops: frozenset[str]  # binary nodes counted when their operator is && / || / and / or
    comments: frozenset[str]


SPECS: dict[str, SyntaxSpec] = {
    "python": SyntaxSpec(
        frozenset({"function_definition", "lambda"}),
        frozenset({"class_definition"}),
        frozenset(
            {
                "if_statement", "elif_clause", "for_statement", "while_statement", "except_clause",
                "conditional_expression", "case_clause", "for_in_clause", "if_clause",
            }
        ),
        frozenset({"boolean_operator"}),
        frozenset({"comment"}),
    ),
    "javascript": SyntaxSpec(
        frozenset(
            {
                "function_declaration", "function_expression", "arrow_function", "method_definition",
                "generator_function_declaration", "function",
            }
        ),
        frozenset({"class_declaration", "class"}),
        frozenset(
            {
                "if_statement", "for_statement", "for_in_statement", "while_statement", "do_statement",
                "switch_case", "catch_clause", "ternary_expression",
            }
        ),
        frozenset({"binary_expression"}),
        frozenset({"comment"}),
    ),
    "go": SyntaxSpec(
        frozenset({"function_declaration", "method_declaration", "func_literal"}),
        frozenset({"type_declaration"}),
        frozenset(
            {"if_statement", "for_statement", "expression_case", "type_case", "communication_case"}
        ),
        frozenset({"binary_expression"}),
        frozenset({"comment"}),
    ),
    "rust": SyntaxSpec(
        frozenset({"function_item", "closure_expression"}),
        frozenset({"struct_item", "enum_item", "trait_item"}),
        frozenset(
            {"if_expression", "while_expression", "for_expression", "loop_expression", "match_arm"}
        ),
        frozenset({"binary_expression"}),
        frozenset({"line_comment", "block_comment"}),
    ),
    "java": SyntaxSpec(
        frozenset({"method_declaration", "constructor_declaration", "lambda_expression"}),
        frozenset({"class_declaration", "interface_declaration", "enum_declaration", "record_declaration"}),
        frozenset(
            {
                "if_statement", "for_statement", "enhanced_for_statement", "while_statement",
                "do_statement", "switch_label", "catch_clause", "ternary_expression",
            }
        ),
        frozenset({"binary_expression"}),
        frozenset({"line_comment", "block_comment"}),
    ),
}  # fmt: skip
SPECS["typescript"] = SPECS["tsx"] = SyntaxSpec(
    SPECS["javascript"].functions,
    SPECS["javascript"].classes | {"interface_declaration", "abstract_class_declaration"},
    SPECS["javascript"].decisions,
    SPECS["javascript"].boolean_ops,
    SPECS["javascript"].comments,
)
BOOL_TOKENS = {"&&", "||", "and", "or", "??"}
#: Anonymous function nodes: complexity units, but not definitions for doc coverage.
ANONYMOUS_FUNCTIONS = frozenset(
    {"lambda", "arrow_function", "closure_expression", "func_literal", "lambda_expression",
     "function_expression", "function"}
)  # fmt: skip
#: Node types that can hold an import, per language family.
IMPORT_KINDS: dict[str, tuple[str, ...]] = {
    "python": ("import_statement", "import_from_statement"),
    "javascript": ("import_statement", "export_statement", "call_expression"),
    "go": ("import_spec",),
    "rust": ("use_declaration", "mod_item"),
    "java": ("import_declaration",),
}


def syntax_spec(lang: str) -> SyntaxSpec | None:
    """The :class:`SyntaxSpec` for a syntax-tree language (None for text languages)."""
    return SPECS.get(lang)


#: Call-site node types per language family.
CALL_KINDS: dict[str, tuple[str, ...]] = {
    "python": ("call",),
    "javascript": ("call_expression", "new_expression"),
    "go": ("call_expression",),
    "rust": ("call_expression",),
    "java": ("method_invocation", "object_creation_expression"),
}


#: Function-like node types whose documentation the evaluation turns into queries.
FUNCTION_NODES: dict[str, frozenset[str]] = {
    "python": frozenset({"function_definition"}),
    "javascript": frozenset({"function_declaration", "generator_function_declaration", "method_definition"}),
    "typescript": frozenset({"function_declaration", "generator_function_declaration", "method_definition"}),
    "tsx": frozenset({"function_declaration", "generator_function_declaration", "method_definition"}),
    "go": frozenset({"function_declaration", "method_declaration"}),
    "rust": frozenset({"function_item"}),
    "java": frozenset({"method_declaration", "constructor_declaration"}),
}


@functools.cache
def _groups_query(lang: str, groups: tuple[tuple[str, tuple[str, ...]], ...]) -> tree_sitter.Query | None:
    language = language_for(lang)
    patterns = [
        f"({kind}) @{name}"
        for name, kinds in groups
        for kind in kinds
        if language.id_for_node_kind(kind, True)
    ]
    return tree_sitter.Query(language, "\n".join(patterns)) if patterns else None


def find_groups(lang: str, root: Any, groups: dict[str, Iterable[str]]) -> dict[str, list[Any]]:
    """Nodes of several groups of node types in ONE tree-sitter query run (no Python tree
    walk): ``{group: nodes sorted by position}``. Types a grammar lacks are ignored."""
    key = tuple((name, tuple(sorted(kinds))) for name, kinds in sorted(groups.items()))
    query = _groups_query(lang, key)
    found = tree_sitter.QueryCursor(query).captures(root) if query is not None else {}
    return {name: sorted(found.get(name, []), key=lambda n: (n.start_byte, -n.end_byte)) for name in groups}


def find_nodes(lang: str, root: Any, kinds: Iterable[str]) -> list[Any]:
    """Every node of the given types under ``root``, sorted by position."""
    return find_groups(lang, root, {"n": kinds})["n"]


def innermost(intervals: list[tuple[int, int, int]], points: list[int]) -> list[int]:
    """For each point, the id of the innermost interval ``(start, end, id)`` containing it
    (``start <= p < end``; intervals nest, as syntax nodes do), or -1."""
    intervals = sorted(intervals, key=lambda iv: (iv[0], -iv[1]))
    order = sorted(range(len(points)), key=points.__getitem__)
    result = [-1] * len(points)
    stack: list[tuple[int, int, int]] = []
    j = 0
    for idx in order:
        p = points[idx]
        while j < len(intervals) and intervals[j][0] <= p:
            while stack and stack[-1][1] <= intervals[j][0]:
                stack.pop()
            stack.append(intervals[j])
            j += 1
        while stack and stack[-1][1] <= p:
            stack.pop()
        result[idx] = stack[-1][2] if stack else -1
    return result
