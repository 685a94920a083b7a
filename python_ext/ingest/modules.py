"""Modules of a repository, their metrics and the module import graph (``modules.parquet``).

**Module rule** (every file — hence every chunk — maps to exactly one module: the one whose
``uri_prefix`` is the longest path-segment prefix of its uri — the uri itself, an ancestor folder
``dir/``, or the root ``""``; prefixes are unique, so the longest match is one module):

* Python: each package directory (holding ``__init__.py``) is a module with ``uri_prefix``
  ``dir/`` (its ``__init__.py`` and any non-module file below it map there); each other ``.py``
  file is a module whose ``uri_prefix`` is the file path. ``module_id`` is the dotted import
  name (``tinylib.geometry.shapes``); a file outside any package is named by its stem, or by its
  dotted path when two such files share a stem.
* JavaScript/TypeScript: each file is a module (``module_id`` = path without extension); a
  folder holding an ``index.{js,ts,tsx,…}`` file is a folder module ``dir/`` (its index file maps
  there).
* Go: each package directory (holding ``.go`` files) is a module ``dir/``; ``module_id`` is the
  import path (``go.mod`` module path + dir) or the dir path without ``go.mod``.
* Rust: each ``.rs`` file is a module (``module_id`` ``crate::a::b``; ``lib.rs``/``main.rs`` is
  the crate, ``mod.rs`` its directory's module).
* Java: each package directory is a module ``dir/`` named by its ``package`` declaration.
* Everything else: a top-level directory that is not itself a module becomes a directory
  module ``dir/``, and the root module ``(root)`` with ``uri_prefix`` ``""`` catches the rest,
  so no file is ever unmapped.

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

import functools
import hashlib
import json
import os
import posixpath
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import tree_sitter

from python_ext.atomic import atomic_write_json, atomic_write_parquet
from python_ext.config import DataRoot
from python_ext.contracts import MODULES_SCHEMA
from python_ext.errors import ConfigError, InputError
from python_ext.ingest.languages import detect_language, is_tree_sitter_language, language_for, parser_for
from python_ext.ingest.walk import resolve_repository
from python_ext.progress import NULL_PROGRESS, Reporter

ROOT_MODULE_ID = "(root)"
JS_FAMILY = frozenset({"javascript", "typescript", "tsx"})
_JS_EXTS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")


def language_family(lang: str) -> str | None:
    """The import-graph family of a language (None for languages without imports)."""
    if lang in JS_FAMILY:
        return "javascript"
    return lang if lang in ("python", "go", "rust", "java") else None


# --- repository files -----------------------------------------------------------------------


@dataclass
class SourceFile:
    """A repository file: uri (relative POSIX path), language and UTF-8 text."""

    uri: str
    lang: str
    text: str

    @property
    def data(self) -> bytes:
        return self.text.encode("utf-8")


def iter_repo_files(
    repo: Path, progress: Reporter = NULL_PROGRESS, **walk_options: Any
) -> Iterator[SourceFile]:
    """The repository's files as chosen by the ingest walk (:func:`python_ext.ingest.walk.walk_repository`:
    ``.gitignore``, vendored, binary, minified, generated and non-UTF-8 files are skipped), so
    modules cover exactly the files that are chunked. ``walk_options`` go to the walk
    (``languages``, ``max_file_bytes``)."""
    from python_ext.ingest.walk import walk_repository

    for f in walk_repository(repo, progress=progress, **walk_options).files:
        yield SourceFile(f.uri, f.lang, f.data.decode("utf-8"))


resolve_repo = resolve_repository  # the same check and wording as the ingest walk


def load_files(repo: Path, uris: Iterable[str]) -> list[SourceFile]:
    """Load the given repository files (unreadable or unknown-language files are skipped)."""
    out = []
    for uri in sorted(set(uris)):
        lang = detect_language(uri)
        if lang is None:
            continue
        try:
            text = (repo / uri).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        out.append(SourceFile(uri, lang, text))
    return out


# --- module assignment ----------------------------------------------------------------------


@dataclass
class Module:
    """One module: its id, uri prefix, language and the files that map to it."""

    module_id: str
    uri_prefix: str
    language: str
    files: list[SourceFile] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # import names that resolve to this module


class ModuleMap:
    """Longest-prefix lookup of a uri's module."""

    def __init__(self, modules: Iterable[Module]) -> None:
        self.modules = list(modules)
        self.by_prefix = {m.uri_prefix: m for m in self.modules}
        self.by_id = {m.module_id: m for m in self.modules}

    def module_of(self, uri: str) -> Module:
        """The module whose ``uri_prefix`` is the longest **path-segment** prefix of ``uri``:
        the uri itself (a file module), then each ancestor folder ``a/b/``, ``a/``, then ``""``.

        This is the join the catalog makes (``int_uri_modules``: ``a/b/c.py`` → ``a/b/c.py``,
        ``a/b``, ``a``, ``''``), so Python and dbt agree on every chunk's module.
        """
        module = self.by_prefix.get(uri)
        if module is not None:
            return module
        parts = uri.split("/")
        for i in range(len(parts) - 1, 0, -1):
            module = self.by_prefix.get("/".join(parts[:i]) + "/")
            if module is not None:
                return module
        module = self.by_prefix.get("")
        if module is None:
            raise InputError(f"{uri}: no module prefix matches", hint="module maps need the root module")
        return module


def _python_names(files: dict[str, SourceFile], root_name: str = "") -> dict[str, str]:
    """Map each Python uri to its dotted module name (packages by their ``__init__.py``).

    When the repository root itself holds ``__init__.py`` (the repository *is* a package, e.g.
    an installed ``site-packages/networkx``), names start with ``root_name``.
    """
    py = [u for u, f in files.items() if f.lang == "python"]
    inits = {posixpath.dirname(u) for u in py if posixpath.basename(u) == "__init__.py"}
    root_is_package = "" in inits and bool(root_name)

    def package_chain(directory: str) -> list[str]:
        parts: list[str] = []
        while directory and directory in inits:
            parts.insert(0, posixpath.basename(directory))
            directory = posixpath.dirname(directory)
        if root_is_package and not directory:
            parts.insert(0, root_name)
        return parts

    names: dict[str, str] = {}
    for uri in py:
        directory, base = posixpath.split(uri)
        stem = base.rsplit(".", 1)[0]
        chain = package_chain(directory)
        if stem == "__init__":
            names[uri] = ".".join(chain) if chain else stem
        else:
            names[uri] = ".".join([*chain, stem])
    counts = Counter(names.values())
    for uri, name in list(names.items()):
        if counts[name] > 1:
            names[uri] = uri.rsplit(".", 1)[0].replace("/", ".")
    return names


def _go_module_path(files: dict[str, SourceFile], repo: Path | None) -> tuple[str, str] | None:
    if repo is None:
        return None
    for gomod in sorted(repo.rglob("go.mod"))[:1]:
        match = re.search(r"^module\s+(\S+)", gomod.read_text(encoding="utf-8", errors="replace"), re.M)
        if match:
            rel = gomod.parent.relative_to(repo).as_posix()
            return match.group(1), "" if rel == "." else rel
    return None


def _rust_crate(uri: str, repo: Path | None) -> tuple[str, str]:
    """(crate name, crate src dir) for a Rust file (from the nearest Cargo.toml)."""
    directory = posixpath.dirname(uri)
    while True:
        if repo is not None and (repo / directory / "Cargo.toml").is_file():
            text = (repo / directory / "Cargo.toml").read_text(encoding="utf-8", errors="replace")
            match = re.search(r'^name\s*=\s*"([^"]+)"', text, re.M)
            name = (match.group(1) if match else posixpath.basename(directory) or "crate").replace("-", "_")
            return name, posixpath.join(directory, "src") if directory else "src"
        if not directory:
            break
        directory = posixpath.dirname(directory)
    top = uri.split("/")[0] if "/" in uri else "crate"
    src = posixpath.dirname(uri)
    return top.replace("-", "_"), src


def build_modules(files: Iterable[SourceFile], repo: Path | None = None) -> ModuleMap:
    """Assign every file to exactly one module (see the module rule in the module docstring).

    :param files: the repository files (``SourceFile``), e.g. from :func:`iter_repo_files`.
    :param repo: the repository root (reads ``go.mod``/``Cargo.toml``); optional.
    """
    by_uri = {f.uri: f for f in files}
    modules: dict[str, Module] = {}  # by uri_prefix
    ids: set[str] = set()

    def add(module_id: str, prefix: str, lang: str, names: Iterable[str] = ()) -> Module:
        if prefix in modules:
            modules[prefix].names.extend(names)
            return modules[prefix]
        if module_id in ids:
            module_id = f"{lang}:{prefix}"
        ids.add(module_id)
        module = Module(module_id, prefix, lang, names=list(names))
        modules[prefix] = module
        return module

    root_package = repo.name if repo is not None and "__init__.py" in by_uri else ""
    py_names = _python_names(by_uri, root_package)
    go_mod = _go_module_path(by_uri, repo)
    java_packages: dict[str, str] = {}
    for uri in sorted(by_uri):
        f = by_uri[uri]
        directory, base = posixpath.split(uri)
        if f.lang == "python":
            name = py_names[uri]
            # also resolvable without the root package name (how tools rooted inside it import)
            aliases = (
                [name, name.split(".", 1)[1]]
                if root_package and name.startswith(root_package + ".")
                else [name]
            )
            if base == "__init__.py":
                add(name, f"{directory}/" if directory else "", "python", aliases)
            else:
                add(name, uri, "python", aliases)
        elif f.lang in JS_FAMILY:
            stem = uri.rsplit(".", 1)[0]
            if posixpath.basename(stem) == "index" and directory:
                add(directory, f"{directory}/", f.lang, [directory, stem])
            else:
                add(stem, uri, f.lang, [stem])
        elif f.lang == "go":
            if go_mod and (directory == go_mod[1] or directory.startswith(go_mod[1] + "/") or not go_mod[1]):
                rel = directory[len(go_mod[1]) :].lstrip("/") if go_mod[1] else directory
                import_path = f"{go_mod[0]}/{rel}" if rel else go_mod[0]
            else:
                import_path = directory or "."
            add(import_path, f"{directory}/" if directory else "", "go", [import_path])
        elif f.lang == "rust":
            crate, src = _rust_crate(uri, repo)
            rel = uri[len(src) + 1 :] if uri.startswith(src + "/") else base
            parts = rel[:-3].split("/")
            if parts[-1] in ("lib", "main") and len(parts) == 1:
                parts = []
            elif parts[-1] == "mod":
                parts = parts[:-1]
            path = "::".join([crate, *parts])
            add(path, uri, "rust", [path, "::".join(["crate", *parts])])
        elif f.lang == "java":
            match = re.search(r"^\s*package\s+([\w.]+)\s*;", f.text, re.M)
            package = match.group(1) if match else directory.replace("/", ".")
            java_packages[directory] = package
            add(package, f"{directory}/" if directory else "", "java", [package])
    # top-level directory modules and the root catch-all
    for uri in sorted(by_uri):
        if "/" in uri:
            top = uri.split("/", 1)[0] + "/"
            if top not in modules:
                modules[top] = Module(top.rstrip("/") + "/", top, "text")
    if "" not in modules:
        modules[""] = Module(ROOT_MODULE_ID, "", "text")
    module_map = ModuleMap(modules.values())
    for uri in sorted(by_uri):
        module_map.module_of(uri).files.append(by_uri[uri])
    # directory catch-alls take the most common language of their files; empty ones are dropped
    kept = []
    for module in module_map.modules:
        if module.language == "text" and module.files:
            module.language = Counter(f.lang for f in module.files).most_common(1)[0][0]
        elif module.language == "text" and module.uri_prefix:
            continue
        kept.append(module)
    return ModuleMap(kept)


# --- syntax-tree metrics --------------------------------------------------------------------


@dataclass(frozen=True)
class SyntaxSpec:
    """Node types used for metrics and the graph in one tree-sitter grammar."""

    functions: frozenset[str]
    classes: frozenset[str]
    decisions: frozenset[str]
    boolean_ops: frozenset[str]  # binary nodes counted when their operator is && / || / and / or
    comments: frozenset[str]


_SPECS: dict[str, SyntaxSpec] = {
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
_SPECS["typescript"] = _SPECS["tsx"] = SyntaxSpec(
    _SPECS["javascript"].functions,
    _SPECS["javascript"].classes | {"interface_declaration", "abstract_class_declaration"},
    _SPECS["javascript"].decisions,
    _SPECS["javascript"].boolean_ops,
    _SPECS["javascript"].comments,
)
_BOOL_TOKENS = {"&&", "||", "and", "or", "??"}
#: Anonymous function nodes: complexity units, but not definitions for doc coverage.
_ANONYMOUS = frozenset(
    {"lambda", "arrow_function", "closure_expression", "func_literal", "lambda_expression",
     "function_expression", "function"}
)  # fmt: skip
#: Node types that can hold an import, per language family.
_IMPORT_KINDS: dict[str, tuple[str, ...]] = {
    "python": ("import_statement", "import_from_statement"),
    "javascript": ("import_statement", "export_statement", "call_expression"),
    "go": ("import_spec",),
    "rust": ("use_declaration", "mod_item"),
    "java": ("import_declaration",),
}


def syntax_spec(lang: str) -> SyntaxSpec | None:
    """The :class:`SyntaxSpec` for a syntax-tree language (None for text languages)."""
    return _SPECS.get(lang)


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


def metric_groups(lang: str) -> dict[str, Iterable[str]]:
    """The node-type groups :func:`file_metrics` and :func:`raw_imports` need."""
    spec = _SPECS[lang]
    return {
        "functions": spec.functions,
        "classes": spec.classes,
        "decisions": spec.decisions,
        "booleans": spec.boolean_ops,
        "imports": _IMPORT_KINDS.get(language_family(lang) or "", ()),
    }


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


def parse(file: SourceFile) -> Any | None:
    """The tree-sitter root node of ``file`` (None for text languages)."""
    if not is_tree_sitter_language(file.lang) or file.lang not in _SPECS:
        return None
    return parser_for(file.lang).parse(file.data).root_node


def _is_decision(node: Any, spec: SyntaxSpec) -> bool:
    if node.type in spec.decisions:
        return True
    if node.type in spec.boolean_ops:
        op = node.child_by_field_name("operator")
        return op is not None and op.type in _BOOL_TOKENS
    return False


@dataclass
class FileMetrics:
    """Syntax-tree metrics of one file."""

    complexities: list[int] = field(default_factory=list)  # one per function
    toplevel_complexity: int = 1
    definitions: int = 0
    documented: int = 0


def _documented(node: Any, file: SourceFile, spec: SyntaxSpec) -> bool:
    if file.lang == "python":
        body = node.child_by_field_name("body")
        if body is not None and body.named_child_count:
            first = body.named_children[0]
            return (
                first.type == "expression_statement"
                and first.named_child_count > 0
                and (first.named_children[0].type == "string")
            )
        return False
    target = node
    if node.parent is not None and node.parent.type in ("export_statement", "decorated_definition"):
        target = node.parent
    prev = target.prev_named_sibling
    while prev is not None and prev.type in ("attribute_item", "decorator", "modifiers"):
        prev = prev.prev_named_sibling
    return prev is not None and prev.type in spec.comments and prev.end_point[0] >= target.start_point[0] - 1


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
        if node.type not in _ANONYMOUS:
            metrics.definitions += 1
            metrics.documented += _documented(node, file, spec)
    for node in groups["classes"]:
        metrics.definitions += 1
        metrics.documented += _documented(node, file, spec)
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


# --- imports --------------------------------------------------------------------------------


def _text(node: Any) -> str:
    return node.text.decode("utf-8", errors="replace") if node is not None and node.text else ""


def _string_value(node: Any) -> str:
    return _text(node).strip("'\"`")


def raw_imports(
    file: SourceFile, root: Any, nodes: list[Any] | None = None
) -> list[tuple[str, list[str], int]]:
    """Import statements of a file as ``(target, imported names, relative level)`` tuples.

    Python: ``from a.b import c`` → ``("a.b", ["c"], 0)``; ``from ..x import y`` → ``("x", ["y"], 2)``;
    ``import a.b`` → ``("a.b", [], 0)``. JS/TS: the module specifier (``import``, ``export … from``,
    ``require()``). Go: the import path. Rust: the ``use`` path and ``mod x;`` declarations
    (``("mod", ["x"], 0)``). Java: the imported name.

    :param nodes: the file's candidate import nodes when already found (``imports`` group).
    """
    out: list[tuple[str, list[str], int]] = []
    lang = file.lang
    if nodes is None:
        nodes = find_nodes(lang, root, _IMPORT_KINDS.get(language_family(lang) or "", ()))
    for node in nodes:
        t = node.type
        if lang == "python":
            if t == "import_statement":
                for child in node.children_by_field_name("name"):
                    name = child.child_by_field_name("name") if child.type == "aliased_import" else child
                    out.append((_text(name), [], 0))
            elif t == "import_from_statement":
                module = node.child_by_field_name("module_name")
                level, target = 0, _text(module)
                if module is not None and module.type == "relative_import":
                    prefix = next((c for c in module.children if c.type == "import_prefix"), None)
                    level = len(_text(prefix))
                    dotted = next((c for c in module.children if c.type == "dotted_name"), None)
                    target = _text(dotted)
                names = []
                for child in node.children_by_field_name("name"):
                    name = child.child_by_field_name("name") if child.type == "aliased_import" else child
                    names.append(_text(name))
                out.append((target, names, level))
        elif lang in JS_FAMILY:
            if t in ("import_statement", "export_statement"):
                source = node.child_by_field_name("source")
                if source is not None:
                    out.append((_string_value(source), [], 0))
            elif t == "call_expression":
                fn = node.child_by_field_name("function")
                args = node.child_by_field_name("arguments")
                if _text(fn) == "require" and args is not None and args.named_child_count:
                    first = args.named_children[0]
                    if first.type == "string":
                        out.append((_string_value(first), [], 0))
        elif lang == "go":
            out.append((_string_value(node.child_by_field_name("path")), [], 0))
        elif lang == "rust":
            if t == "use_declaration":
                out.append((_text(node.child_by_field_name("argument")), [], 0))
            elif node.child_by_field_name("body") is None:  # `mod x;`
                out.append(("mod", [_text(node.child_by_field_name("name"))], 0))
        elif lang == "java":
            named = [c for c in node.named_children if c.type in ("scoped_identifier", "identifier")]
            if named:
                out.append((_text(named[0]), [], 0))
    return out


class ImportResolver:
    """Resolve raw import targets to modules of the repository (external imports → None)."""

    def __init__(self, module_map: ModuleMap) -> None:
        self.map = module_map
        self.by_name: dict[str, dict[str, Module]] = defaultdict(dict)  # family → name → module
        for module in module_map.modules:
            family = language_family(module.language)
            if family:
                for name in module.names:
                    self.by_name[family].setdefault(name, module)
        self.uris = {f.uri for m in module_map.modules for f in m.files}
        self.python_uri_names: dict[str, str] = {}
        for module in module_map.modules:
            if module.language == "python":
                for f in module.files:
                    self.python_uri_names[f.uri] = module.module_id

    def resolve(self, file: SourceFile, target: str, names: list[str], level: int) -> list[Module]:
        """Modules imported by one import statement of ``file``."""
        family = language_family(file.lang)
        if family == "python":
            return self._python(file, target, names, level)
        if family == "javascript":
            return [m] if (m := self._js(file, target)) else []
        index = self.by_name.get(family or "", {})
        if family == "go":
            if target in index:
                return [index[target]]
            matches = [m for name, m in index.items() if target.endswith("/" + name) or target == name]
            return matches[:1] if len(matches) == 1 else []
        if family == "rust":
            own = self.map.module_of(file.uri)
            if target == "mod":  # `mod x;` in a.rs (or lib.rs / mod.rs) declares a::x
                return [m for n in names if (m := index.get(f"{own.module_id}::{n}"))]
            crate = own.module_id.split("::")[0]
            path = target.split("{")[0].rstrip(":").replace("crate::", f"{crate}::", 1)
            if path.startswith(("self::", "super::")):
                segments = own.module_id.split("::")
                rest = path
                while rest.startswith("super::"):
                    segments = segments[:-1]
                    rest = rest[7:]
                rest = rest.removeprefix("self::")
                path = "::".join([*segments, rest])
            parts = path.split("::")
            for i in range(len(parts), 0, -1):
                module = index.get("::".join(parts[:i]))
                if module is not None:
                    return [module]
            return []
        if family == "java":
            parts = target.split(".")
            for i in range(len(parts), 0, -1):
                module = index.get(".".join(parts[:i]))
                if module is not None:
                    return [module]
        return []

    def _python(self, file: SourceFile, target: str, names: list[str], level: int) -> list[Module]:
        index = self.by_name.get("python", {})
        if level:
            own = self.python_uri_names.get(file.uri, "")
            package = own if file.uri.endswith("__init__.py") else own.rpartition(".")[0]
            for _ in range(level - 1):
                package = package.rpartition(".")[0]
            base = ".".join(p for p in (package, target) if p)
        else:
            base = target
        found: list[Module] = []
        if names:
            for name in names:
                module = index.get(f"{base}.{name}" if base else name)
                if module is not None:
                    found.append(module)
                    continue
                module = self._longest(index, base)
                if module is not None:
                    found.append(module)
        else:
            module = self._longest(index, base)
            if module is not None:
                found.append(module)
        return found

    @staticmethod
    def _longest(index: dict[str, Module], dotted: str) -> Module | None:
        parts = dotted.split(".") if dotted else []
        for i in range(len(parts), 0, -1):
            module = index.get(".".join(parts[:i]))
            if module is not None:
                return module
        return None

    def _js(self, file: SourceFile, target: str) -> Module | None:
        if not target.startswith("."):
            return None
        base = posixpath.normpath(posixpath.join(posixpath.dirname(file.uri), target))
        stem = base
        for ext in (".js", ".jsx", ".mjs", ".cjs"):
            if base.endswith(ext):
                stem = base[: -len(ext)]
        candidates = [base] + [stem + ext for ext in _JS_EXTS] + [f"{base}/index{ext}" for ext in _JS_EXTS]
        for candidate in candidates:
            if candidate in self.uris:
                return self.map.module_of(candidate)
        return None


# --- the modules table ----------------------------------------------------------------------


@dataclass
class ModuleFacts:
    """Modules with metrics plus the module import graph (edges with import counts)."""

    module_map: ModuleMap
    rows: list[dict[str, Any]]
    edges: dict[tuple[str, str], int]  # (importer module_id, imported module_id) → statements
    file_imports: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # uri → (target, module_id)

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows, schema=MODULES_SCHEMA)


def _pagerank(nodes: list[str], edges: Iterable[tuple[str, str]]) -> dict[str, float]:
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    if graph.number_of_nodes() == 0:
        return {}
    return nx.pagerank(graph, alpha=0.85)


def compute_modules(
    files: list[SourceFile],
    repo: Path | None = None,
    *,
    trees: dict[str, Any] | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> ModuleFacts:
    """Assign files to modules and compute every metric of ``modules.parquet``.

    :param files: the repository files.
    :param repo: repository root (for ``go.mod``/``Cargo.toml``); optional.
    :param trees: already parsed tree-sitter roots by uri (parsed here when missing).
    """
    module_map = build_modules(files, repo)
    resolver = ImportResolver(module_map)
    trees = trees if trees is not None else {}
    edges: Counter[tuple[str, str]] = Counter()
    file_imports: dict[str, list[tuple[str, str]]] = {}
    stats: dict[str, dict[str, Any]] = {}
    with progress.task("modules", total=len(files)) as advance:
        for module in module_map.modules:
            complexities: list[int] = []
            tops: list[int] = []
            definitions = documented = loc = 0
            for f in module.files:
                loc += sum(1 for line in f.text.splitlines() if line.strip())
                root = trees.get(f.uri)
                if root is None and syntax_spec(f.lang) is not None:
                    root = parse(f)
                    if root is not None:
                        trees[f.uri] = root
                if root is not None:
                    groups = find_groups(f.lang, root, metric_groups(f.lang))
                    metrics = file_metrics(f, root, groups)
                    if metrics is not None:
                        complexities.extend(metrics.complexities)
                        tops.append(metrics.toplevel_complexity)
                        definitions += metrics.definitions
                        documented += metrics.documented
                    resolved = []
                    for target, names, level in raw_imports(f, root, groups["imports"]):
                        for imported in resolver.resolve(f, target, names, level):
                            resolved.append((target, imported.module_id))
                            if imported.module_id != module.module_id:
                                edges[(module.module_id, imported.module_id)] += 1
                    file_imports[f.uri] = resolved
                advance(1)
            units = complexities or tops
            stats[module.module_id] = {
                "size_loc": loc,
                "cyclomatic": round(sum(units) / len(units), 6) if units else 0.0,
                "doc_cov": round(documented / definitions, 6) if definitions else 0.0,
            }
    in_deg: Counter[str] = Counter(dst for _, dst in edges)
    out_deg: Counter[str] = Counter(src for src, _ in edges)
    centrality: dict[str, float] = {}
    families: dict[str, list[str]] = defaultdict(list)
    for module in module_map.modules:
        family = language_family(module.language)
        if family:
            families[family].append(module.module_id)
    for nodes in families.values():
        members = set(nodes)
        centrality.update(_pagerank(nodes, [e for e in edges if e[0] in members and e[1] in members]))
    rows = []
    for module in sorted(module_map.modules, key=lambda m: m.uri_prefix):
        mid = module.module_id
        rows.append(
            {
                "module_id": mid,
                "uri_prefix": module.uri_prefix,
                "language": module.language,
                **stats[mid],
                "in_deg": in_deg.get(mid, 0),
                "out_deg": out_deg.get(mid, 0),
                "centrality": round(centrality.get(mid, 0.0), 9),
            }
        )
    return ModuleFacts(module_map, rows, dict(edges), file_imports)


@dataclass
class ModulesResult:
    """Summary of one ``modules.parquet`` write."""

    path: str
    modules: int
    import_edges: int
    source: str
    seconds: float
    skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def write_modules(facts: ModuleFacts, data_root: DataRoot, *, started: float | None = None) -> ModulesResult:
    """Write ``modules.parquet`` atomically from computed :class:`ModuleFacts`."""
    atomic_write_parquet(data_root.modules_path, facts.table())
    return ModulesResult(
        path=str(data_root.modules_path),
        modules=len(facts.rows),
        import_edges=len(facts.edges),
        source="repository",
        seconds=round(time.perf_counter() - (started or time.perf_counter()), 3),
    )


def extract_modules(
    repo: str | os.PathLike[str], data_root: DataRoot, *, progress: Reporter = NULL_PROGRESS
) -> ModulesResult:
    """Compute modules and metrics of ``repo`` and write ``modules.parquet``.

    :param repo: repository root.
    :param data_root: where ``modules/modules.parquet`` is written (atomically).
    :raises RepositoryNotFoundError: ``repo`` is not a directory.
    """
    started = time.perf_counter()
    root = resolve_repo(repo)
    files = list(iter_repo_files(root, progress))
    facts = compute_modules(files, root, progress=progress)
    return write_modules(facts, data_root, started=started)


# --- modules.jsonl input ----------------------------------------------------------------------

_JSONL_REQUIRED = ("module_id", "uri_prefix")
_JSONL_HINT = (
    'one object a line, e.g. {"module_id": "pkg.mod", "uri_prefix": "pkg/mod.py", "language": "python", '
    '"size_loc": 10} (see docs/facts.md)'
)
_JSONL_DEFAULTS: dict[str, Any] = {
    "language": "text",
    "size_loc": 0,
    "cyclomatic": 0.0,
    "doc_cov": 0.0,
    "in_deg": 0,
    "out_deg": 0,
    "centrality": 0.0,
}


def _checksum_path(data_root: DataRoot) -> Path:
    return data_root.modules_path.with_name("modules.source.json")


def convert_modules_jsonl(
    jsonl: str | os.PathLike[str], data_root: DataRoot, *, force: bool = False
) -> ModulesResult:
    """Convert a ``modules.jsonl`` file (one JSON object a line) into ``modules.parquet``.

    Each object needs ``module_id`` and ``uri_prefix``; the other contract columns default to
    ``language`` "text", 0 / 0.0. Unknown keys are rejected. A checksum of the input is kept in
    ``modules/modules.source.json``: an unchanged input (same sha256) is not converted again
    unless ``force``.

    :raises InputError: unreadable line, missing/invalid field, duplicate ``module_id`` or
        ``uri_prefix`` (the message names the line).
    """
    started = time.perf_counter()
    path = Path(jsonl)
    if not path.is_file():
        raise InputError(f"modules JSONL not found: {path}", hint="pass an existing file to --from-jsonl")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    marker = _checksum_path(data_root)
    if not force and marker.is_file() and data_root.modules_path.is_file():
        try:
            previous = json.loads(marker.read_text())
        except json.JSONDecodeError:
            previous = {}
        if previous.get("sha256") == digest:
            return ModulesResult(
                path=str(data_root.modules_path),
                modules=int(previous.get("modules", 0)),
                import_edges=0,
                source=str(path),
                seconds=round(time.perf_counter() - started, 3),
                skipped=True,
            )
    rows: list[dict[str, Any]] = []
    seen_ids: dict[str, int] = {}
    seen_prefixes: dict[str, int] = {}
    fields = {f.name: f.type for f in MODULES_SCHEMA}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{path}:{lineno}: invalid JSON ({exc.msg})", hint="one JSON object per line"
                ) from exc
            if not isinstance(obj, dict):
                raise InputError(f"{path}:{lineno}: expected a JSON object", hint="one JSON object per line")
            unknown = sorted(set(obj) - set(fields))
            if unknown:
                raise InputError(
                    f"{path}:{lineno}: unknown field(s) {', '.join(unknown)}",
                    hint=f"modules.jsonl fields: {', '.join(fields)}",
                )
            for key in _JSONL_REQUIRED:
                if not isinstance(obj.get(key), str):
                    raise InputError(
                        f"{path}:{lineno}: field {key} is missing or not a string", hint=_JSONL_HINT
                    )
            row = {**_JSONL_DEFAULTS, **obj}
            for key, typ in fields.items():
                value = row[key]
                if pa.types.is_integer(typ) and (isinstance(value, bool) or not isinstance(value, int)):
                    raise InputError(
                        f"{path}:{lineno}: field {key} must be an integer, got {value!r}", hint=_JSONL_HINT
                    )
                if pa.types.is_floating(typ) and (
                    isinstance(value, bool) or not isinstance(value, (int, float))
                ):
                    raise InputError(
                        f"{path}:{lineno}: field {key} must be a number, got {value!r}", hint=_JSONL_HINT
                    )
                if pa.types.is_string(typ) and not isinstance(value, str):
                    raise InputError(
                        f"{path}:{lineno}: field {key} must be a string, got {value!r}", hint=_JSONL_HINT
                    )
            for key, seen in (("module_id", seen_ids), ("uri_prefix", seen_prefixes)):
                if row[key] in seen:
                    raise InputError(
                        f"{path}:{lineno}: duplicate {key} {row[key]!r} (first on line {seen[row[key]]})",
                        hint="module ids and uri prefixes must be unique so a chunk maps to one module",
                    )
                seen[row[key]] = lineno
            rows.append({k: (float(v) if pa.types.is_floating(fields[k]) else v) for k, v in row.items()})
    if not rows:
        raise InputError(f"{path}: no modules (the file is empty)", hint="one JSON object per line")
    atomic_write_parquet(data_root.modules_path, pa.Table.from_pylist(rows, schema=MODULES_SCHEMA))
    atomic_write_json(marker, {"source": str(path.resolve()), "sha256": digest, "modules": len(rows)})
    return ModulesResult(
        path=str(data_root.modules_path),
        modules=len(rows),
        import_edges=0,
        source=str(path),
        seconds=round(time.perf_counter() - started, 3),
    )


def modules_facts(
    data_root: DataRoot,
    *,
    repo: str | os.PathLike[str] | None = None,
    from_jsonl: str | os.PathLike[str] | None = None,
    force: bool = False,
    progress: Reporter = NULL_PROGRESS,
) -> ModulesResult:
    """Write ``modules.parquet`` from exactly one source: a repository (:func:`extract_modules`)
    or a ``modules.jsonl`` file (:func:`convert_modules_jsonl`; ``force`` converts it even when
    unchanged).

    :raises ConfigError: both or neither of ``repo`` and ``from_jsonl`` given.
    """
    if (repo is None) == (from_jsonl is None):
        raise ConfigError("pass exactly one of REPO and --from-jsonl FILE", hint="indexctl modules REPO")
    if from_jsonl is not None:
        return convert_modules_jsonl(from_jsonl, data_root, force=force)
    assert repo is not None
    return extract_modules(repo, data_root, progress=progress)
