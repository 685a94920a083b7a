"""Module assignment: every file of a repository, hence every chunk, maps to exactly one module.

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
"""

from __future__ import annotations

import os
import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_ext.errors import InputError
from python_ext.ingest.walk import SourceFile, walk_repository
from python_ext.lang.nodes import JS_FAMILY
from python_ext.progress import NULL_PROGRESS, Reporter

ROOT_MODULE_ID = "(root)"


def iter_repo_files(
    repo: str | os.PathLike[str], progress: Reporter = NULL_PROGRESS, **walk_options: Any
) -> Iterator[SourceFile]:
    """The repository's files as chosen by the ingest walk
    (:func:`python_ext.ingest.walk.walk_repository`: ``.gitignore``, vendored, binary, minified,
    generated and non-UTF-8 files are skipped), so modules cover exactly the files that are
    chunked. ``walk_options`` go to the walk (``languages``, ``max_file_bytes``).

    :raises RepositoryNotFoundError: ``repo`` is not an existing folder (the walk's message).
    """
    yield from walk_repository(repo, progress=progress, **walk_options).files


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
