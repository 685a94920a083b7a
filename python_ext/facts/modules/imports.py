"""Imports: the import statements of a file, resolved to modules of the repository, and the
PageRank of the module import graph.

Resolution per language family: Python absolute and relative imports (``from pkg import
submodule`` too); JS/TS relative specifiers (``./util.js`` → ``util.ts``, ``dir/index.*``); Go
import paths; Rust ``use crate::…``/``super::``/``mod x;``; Java imports. External imports
resolve to nothing.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from python_ext.facts.modules.assign import Module, ModuleMap
from python_ext.ingest.walk import SourceFile
from python_ext.lang.nodes import IMPORT_KINDS, JS_FAMILY, find_nodes, language_family

_JS_EXTS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")


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
        nodes = find_nodes(lang, root, IMPORT_KINDS.get(language_family(lang) or "", ()))
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


def pagerank(nodes: list[str], edges: Iterable[tuple[str, str]]) -> dict[str, float]:
    """PageRank (networkx, damping 0.85) of a directed graph; ``{}`` for an empty one."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    if graph.number_of_nodes() == 0:
        return {}
    return nx.pagerank(graph, alpha=0.85)
