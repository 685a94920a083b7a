"""The modules table (``modules.parquet``): modules with their metrics, import degrees and
centrality, computed from a repository (or converted from ``modules.jsonl``).

The pieces, one job each: :mod:`~python_ext.facts.modules.assign` (the module rule),
:mod:`~python_ext.facts.modules.metrics` (LOC, complexity, doc coverage),
:mod:`~python_ext.facts.modules.imports` (import resolution and PageRank) and
:mod:`~python_ext.facts.modules.jsonl` (the JSONL input).
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from python_ext.atomic import atomic_write_parquet
from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.contracts import MODULES_SCHEMA
from python_ext.errors import ConfigError
from python_ext.facts.modules.assign import ModuleMap, build_modules
from python_ext.facts.modules.imports import ImportResolver, pagerank, raw_imports
from python_ext.facts.modules.metrics import file_metrics, metric_groups, parse
from python_ext.ingest.walk import SourceFile, walk_repository
from python_ext.lang.nodes import find_groups, language_family, syntax_spec
from python_ext.lock import writes_data_root
from python_ext.progress import NULL_PROGRESS, Reporter


@dataclass
class ModuleFacts:
    """Modules with metrics plus the module import graph (edges with import counts)."""

    module_map: ModuleMap
    rows: list[dict[str, Any]]
    edges: dict[tuple[str, str], int]  # (importer module_id, imported module_id) → statements
    file_imports: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # uri → (target, module_id)

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows, schema=MODULES_SCHEMA)


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
        centrality.update(pagerank(nodes, [e for e in edges if e[0] in members and e[1] in members]))
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


def write_modules(data_root: DataRoot, facts: ModuleFacts, *, started: float | None = None) -> ModulesResult:
    """Write ``modules.parquet`` atomically from computed :class:`ModuleFacts`."""
    atomic_write_parquet(data_root.modules_path, facts.table())
    return ModulesResult(
        path=str(data_root.modules_path),
        modules=len(facts.rows),
        import_edges=len(facts.edges),
        source="repository",
        seconds=round(time.perf_counter() - (started or time.perf_counter()), 3),
    )


@writes_data_root("modules")
def extract_modules(
    data_root: DataRootLike, repo: str | os.PathLike[str], *, progress: Reporter = NULL_PROGRESS
) -> ModulesResult:
    """Compute modules and metrics of ``repo`` and write ``modules.parquet``.

    :param repo: repository root.
    :param data_root: where ``modules/modules.parquet`` is written (atomically).
    :raises RepositoryNotFoundError: ``repo`` is not an existing folder (the walk's message).
    """
    data_root = resolve_data_root(data_root)
    started = time.perf_counter()
    walk = walk_repository(repo, progress=progress)
    facts = compute_modules(walk.files, walk.root, progress=progress)
    return write_modules(data_root, facts, started=started)


def modules_facts(
    data_root: DataRootLike,
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
    data_root = resolve_data_root(data_root)
    if (repo is None) == (from_jsonl is None):
        raise ConfigError("pass exactly one of REPO and --from-jsonl FILE", hint="indexctl modules REPO")
    if from_jsonl is not None:
        from python_ext.facts.modules.jsonl import convert_modules_jsonl

        return convert_modules_jsonl(data_root, from_jsonl, force=force)
    assert repo is not None
    return extract_modules(data_root, repo, progress=progress)
