"""Code-intelligence facts of a repository in one call: SCIP occurrences/symbols, modules and the
symbol graph — and the hooks that make ``indexctl ingest`` produce them with the chunks.

Order of work (:class:`FactsBuilder`):

1. :meth:`~FactsBuilder.prepare_scip` — when a SCIP index is given (``scip=``) or produced
   (``run_scip=True`` runs scip-python into ``<data root>/scip/index.scip``), it is imported
   (``scip_occurrences.parquet``, ``scip_symbols.parquet``) while the SCIP edges are collected,
   and a :class:`ScipDefinitionIndex` is built for the chunker. Only documents of files the
   ingest walk selects are kept (scip-python also indexes gitignored or generated files, whose
   occurrences would have no chunk).
2. :attr:`~FactsBuilder.symbol_resolver` — given to the chunker (SCIP is prepared on its first
   call): ``(uri, start_line, end_line)``
   → the SCIP symbols (locals excluded) whose definition occurrence lies inside those lines, or
   None for files the index does not cover (the chunk keeps its tree-sitter qualified names).
3. :meth:`~FactsBuilder.write_facts` (also the ingest ``after_write`` hook) — modules and
   ``modules.parquet``; ``symbol_edges.parquet`` from the SCIP edges plus tree-sitter edges for
   files the SCIP index does not cover (all files without SCIP). Without SCIP, empty SCIP
   tables are written when none exist yet so the catalog's sources are always present.
"""

from __future__ import annotations

import bisect
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from python_ext.atomic import atomic_write_parquet
from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.contracts import SCIP_OCCURRENCES_SCHEMA, SCIP_SYMBOLS_SCHEMA, empty_table, read_parquet_file
from python_ext.errors import ConfigError, InputError
from python_ext.facts.ast import DEFAULT_AST_LEVEL, write_ast_facts
from python_ext.facts.graph import (
    EdgeKey,
    GraphResult,
    ScipEdgeCollector,
    convert_symbol_graph_json,
    edges_table,
    tree_sitter_edges,
    write_edges,
)
from python_ext.facts.modules import compute_modules, iter_repo_files, write_modules
from python_ext.facts.scip.importer import ScipImportResult, import_scip, iter_scip
from python_ext.facts.scip.indexer import INDEXER_LANGUAGES, ScipIndexResult, run_scip_indexers
from python_ext.ingest.walk import SourceFile, resolve_repository, walk_repository
from python_ext.lock import writes_data_root
from python_ext.progress import NULL_PROGRESS, Reporter

SymbolResolver = Callable[[str, int, int], "list[str] | None"]
#: Ingest options that choose the files (shared by the facts' own walk).
_WALK_KEYS = ("include", "exclude", "default_skips")


class ScipDefinitionIndex:
    """Definition occurrences by uri, for "which SCIP symbols are defined in these lines"."""

    def __init__(self, defs: dict[str, list[tuple[int, int, str]]]) -> None:
        self._starts: dict[str, list[int]] = {}
        self._defs: dict[str, list[tuple[int, int, str]]] = {}
        for uri, items in defs.items():
            items = sorted(items)
            self._defs[uri] = items
            self._starts[uri] = [start for start, _, _ in items]

    @classmethod
    def from_parquet(cls, path: str | os.PathLike[str]) -> ScipDefinitionIndex:
        """Load the definitions (role bit 1, locals excluded) of a ``scip_occurrences.parquet``."""
        table = read_parquet_file(
            path,
            what="scip occurrences",
            hint="re-import the SCIP index (indexctl scip import) or ingest with --scip/--run-scip",
            columns=["symbol", "uri", "role_bits", "start_line", "end_line"],
        )
        all_uris = set(pc.unique(table.column("uri")).to_pylist())
        mask = pc.and_(
            pc.not_equal(pc.bit_wise_and(table["role_bits"], 1), 0),
            pc.invert(pc.starts_with(table["symbol"], "local ")),
        )
        table = table.filter(mask)
        defs: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        for uri, symbol, start, end in zip(
            table["uri"].to_pylist(),
            table["symbol"].to_pylist(),
            table["start_line"].to_pylist(),
            table["end_line"].to_pylist(),
            strict=True,
        ):
            defs[uri].append((start, end, symbol))
        covered = all_uris
        for uri in covered:
            defs.setdefault(uri, [])
        return cls(defs)

    @property
    def uris(self) -> set[str]:
        """Documents covered by the index."""
        return set(self._defs)

    def symbols_in(self, uri: str, start_line: int, end_line: int) -> list[str] | None:
        """SCIP symbols defined within lines ``start_line..end_line`` (1-based, inclusive) of
        ``uri``, in order of position (duplicates removed); None when ``uri`` is not indexed."""
        items = self._defs.get(uri)
        if items is None:
            return None
        starts = self._starts[uri]
        out: list[str] = []
        for i in range(bisect.bisect_left(starts, start_line), bisect.bisect_right(starts, end_line)):
            _, end, symbol = items[i]
            if end <= end_line and symbol not in out:
                out.append(symbol)
        return out


@dataclass
class FactsResult:
    """What one facts extraction wrote (each part as its own summary)."""

    repo: str
    modules: dict[str, Any]
    graph: dict[str, Any]
    scip: dict[str, Any] | None
    scip_run: list[dict[str, Any]] | None
    seconds: float
    ast: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class FactsBuilder:
    """Extract every code-intelligence fact of ``repo`` into ``data_root``.

    :param data_root: the data root written to.
    :param repo: repository root.
    :param scip: an existing SCIP index (binary or JSON) of the repository; optional.
    :param run_scip: run the SCIP indexers first: scip-python for Python (writes
        ``<data root>/scip/index.scip``), scip-typescript for TypeScript/JavaScript
        (``index-typescript.scip``); both indexes are imported together. Excludes ``scip``. An
        indexer is skipped (with a logged note) when its languages are absent or it is not
        installed.
    :param languages: walk only these languages (as the ingest's ``--languages``); default all.
    :param max_file_bytes: walk limit per file (as the ingest's); default the walk's.
    :param walk_options: further walk options, as the ingest's (``include``, ``exclude``,
        ``default_skips``).
    :param require_indexers: with ``run_scip``, fail when a needed indexer is not installed
        (default); False skips it with a note (the pipeline runs whatever is installed).
    :param ast_level: levels of named children recorded below each declaration in
        ``ast_nodes.parquet`` (default 1; 0 declarations only; -1 every named node).
    :param progress: progress reporter.
    :raises ConfigError: both ``scip`` and ``run_scip`` given.
    :raises RepositoryNotFoundError: ``repo`` is not a directory.
    """

    def __init__(
        self,
        data_root: DataRoot,
        repo: str | os.PathLike[str],
        *,
        scip: str | os.PathLike[str] | None = None,
        run_scip: bool = False,
        languages: Sequence[str] | str | None = None,
        max_file_bytes: int | None = None,
        walk_options: dict[str, Any] | None = None,
        require_indexers: bool = True,
        ast_level: int = DEFAULT_AST_LEVEL,
        progress: Reporter = NULL_PROGRESS,
    ) -> None:
        if scip is not None and run_scip:
            raise ConfigError("--scip and --run-scip exclude each other", hint="pass one of them")
        self.repo = resolve_repository(repo)
        self.data_root = data_root
        self.scip: list[Path] | None = [Path(scip)] if scip is not None else None
        self.run_scip = run_scip
        self.require_indexers = require_indexers
        self.ast_level = ast_level
        self.progress = progress
        self.started = time.perf_counter()
        self.scip_result: ScipImportResult | None = None
        self.scip_runs: list[ScipIndexResult] = []
        self.collector: ScipEdgeCollector | None = None
        self.definitions: ScipDefinitionIndex | None = None
        self._files: list[SourceFile] | None = None
        self.walk_options: dict[str, Any] = {"languages": languages, **(walk_options or {})}
        if max_file_bytes is not None:
            self.walk_options["max_file_bytes"] = max_file_bytes

    def prepare_scip(self) -> ScipImportResult | None:
        """Run (if asked) and import the SCIP index; build the definition index. Idempotent."""
        if self.scip_result is not None or (self.scip is None and not self.run_scip):
            return self.scip_result
        files = self._walk()  # validates the walk options before anything is written
        walked = {f.uri for f in files}
        if self.run_scip:
            langs = {f.lang for f in files}
            covered = set().union(*INDEXER_LANGUAGES.values())
            if not langs & covered:
                self.progress.log(
                    f"--run-scip: no Python, TypeScript or JavaScript files under {self.repo}; SCIP skipped"
                )
                self.run_scip = False
                return None
            self.scip_runs = run_scip_indexers(
                self.repo,
                self.data_root.root / "scip",
                langs,
                files=sorted(walked),
                strict=self.require_indexers,
                progress=self.progress,
            )
            if not self.scip_runs:
                self.run_scip = False
                return None
            self.scip = [Path(r.index) for r in self.scip_runs]
        assert self.scip is not None
        self.collector = ScipEdgeCollector()
        self.scip_result = import_scip(
            self.data_root,
            self.scip,
            repo=self.repo,
            observers=[self.collector],
            only_uris=walked,
            progress=self.progress,
        )
        self.definitions = ScipDefinitionIndex.from_parquet(self.data_root.scip_occurrences_path)
        return self.scip_result

    def _walk(self) -> list[SourceFile]:
        if self._files is None:
            self._files = list(iter_repo_files(self.repo, self.progress, **self.walk_options))
        return self._files

    @property
    def symbol_resolver(self) -> SymbolResolver | None:
        """The chunker hook (None without SCIP): see :meth:`ScipDefinitionIndex.symbols_in`.

        SCIP is run/imported lazily on the first call, i.e. once the ingest has validated its
        own options, so a rejected ingest writes nothing.
        """
        if self.scip is None and not self.run_scip:
            return None
        return self._resolve

    def _resolve(self, uri: str, start_line: int, end_line: int) -> list[str] | None:
        self.prepare_scip()
        return (
            self.definitions.symbols_in(uri, start_line, end_line) if self.definitions is not None else None
        )

    def write_facts(self, files: Sequence[SourceFile] | None = None) -> FactsResult:
        """Write ``modules.parquet``, ``symbol_edges.parquet`` and the AST facts (and the SCIP
        tables when a SCIP index was given; empty ones when none exist yet).

        :param files: the repository files (default: walk the repository like the ingest does).
        """
        self.prepare_scip()
        files = list(files) if files is not None else self._walk()
        started = time.perf_counter()
        module_facts = compute_modules(files, self.repo, progress=self.progress)
        modules = write_modules(self.data_root, module_facts, started=started)
        started = time.perf_counter()
        covered = self.definitions.uris if self.definitions is not None else set()
        with self.progress.task("symbol graph", total=None):
            edges, uris = tree_sitter_edges([f for f in files if f.uri not in covered], module_facts)
            if self.collector is not None:
                edges.update(self.collector.edges)
                for symbol, uri in self.collector.uris.items():
                    uris.setdefault(symbol, uri)
            source = "scip+tree-sitter" if self.collector is not None else "tree-sitter"
            graph = write_edges(self.data_root, edges_table(edges, uris), source, started)
        ast = write_ast_facts(self.data_root, files, level=self.ast_level, progress=self.progress)
        if self.scip_result is None:
            for path, schema in (
                (self.data_root.scip_occurrences_path, SCIP_OCCURRENCES_SCHEMA),
                (self.data_root.scip_symbols_path, SCIP_SYMBOLS_SCHEMA),
            ):
                if not path.exists():
                    atomic_write_parquet(path, empty_table(schema))
        return FactsResult(
            repo=str(self.repo),
            modules=modules.to_dict(),
            graph=graph.to_dict(),
            scip=self.scip_result.to_dict() if self.scip_result else None,
            scip_run=[r.to_dict() for r in self.scip_runs] or None,
            seconds=round(time.perf_counter() - self.started, 3),
            ast=ast.to_dict(),
        )

    def after_write(self, context: Any) -> dict[str, Any]:
        """The ingest ``after_write`` hook: write the facts for the files the ingest chose."""
        files = _files_of(context)
        return self.write_facts(files).to_dict()


def _files_of(context: Any) -> list[SourceFile] | None:
    """The walked files of an ingest context (``context.files`` or ``context.walk.files``)."""
    walked = getattr(context, "files", None)
    if walked is None and getattr(context, "walk", None) is not None:
        walked = context.walk.files
    if walked is None:
        return None
    return list(walked)


@writes_data_root("facts")
def extract_facts(
    data_root: DataRootLike,
    repo: str | os.PathLike[str],
    *,
    scip: str | os.PathLike[str] | None = None,
    run_scip: bool = False,
    ast_level: int = DEFAULT_AST_LEVEL,
    progress: Reporter = NULL_PROGRESS,
) -> FactsResult:
    """Write every fact of ``repo`` except the chunks: SCIP tables (with ``scip``/``run_scip``),
    ``modules.parquet``, ``symbol_edges.parquet`` and the AST facts (``ast_nodes.parquet``,
    ``node_to_chunk.parquet`` against the data root's chunks). See :class:`FactsBuilder`."""
    data_root = resolve_data_root(data_root)
    builder = FactsBuilder(
        data_root, repo, scip=scip, run_scip=run_scip, ast_level=ast_level, progress=progress
    )
    return builder.write_facts()


@writes_data_root("graph")
def extract_graph(
    data_root: DataRootLike,
    repo: str | os.PathLike[str] | None,
    *,
    scip: str | os.PathLike[str] | None = None,
    from_json: str | os.PathLike[str] | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> GraphResult:
    """Write ``symbol_edges.parquet`` only: from a ``symbol_graph.json`` (``from_json``), from a
    SCIP index (edges of its documents, plus tree-sitter edges of the repository's other files
    when ``repo`` is given), or from the repository's syntax trees.

    :raises ConfigError: ``from_json`` combined with ``repo``/``scip``, or nothing to read.
    """
    data_root = resolve_data_root(data_root)
    started = time.perf_counter()
    if from_json is not None:
        if repo is not None or scip is not None:
            raise ConfigError(
                "--from-json excludes REPO and --scip", hint="pass either --from-json FILE or REPO"
            )
        return convert_symbol_graph_json(data_root, from_json)
    if repo is None and scip is None:
        raise ConfigError("nothing to read: pass REPO, --scip INDEX or --from-json FILE")
    collector = ScipEdgeCollector() if scip is not None else None
    covered: set[str] = set()
    walk = walk_repository(repo, progress=progress) if repo is not None else None
    root = walk.root if walk is not None else None
    if collector is not None:
        from python_ext.facts.scip.decode import Document, ExternalSymbols
        from python_ext.facts.scip.importer import load_source

        with progress.task("scip edges", total=None):
            for item in iter_scip(scip):  # type: ignore[arg-type]
                if isinstance(item, ExternalSymbols):
                    collector.add_symbols(item.symbols, None)
                elif isinstance(item, Document):
                    if not item.relative_path:
                        raise InputError(f"{scip}: {item.where}.relative_path: missing (required)")
                    covered.add(item.relative_path)
                    collector.add_symbols(item.symbols, item.relative_path)
                    collector.add_document(item, load_source(item, root))
    edges: Counter[EdgeKey] = Counter()
    uris: dict[str, str] = {}
    if walk is not None:
        files = walk.files
        module_facts = compute_modules(files, root, progress=progress)
        edges, uris = tree_sitter_edges([f for f in files if f.uri not in covered], module_facts)
    if collector is not None:
        edges.update(collector.edges)
        for symbol, uri in collector.uris.items():
            uris.setdefault(symbol, uri)
    source = "+".join(s for s in ("scip" if scip else "", "tree-sitter" if root else "") if s)
    return write_edges(data_root, edges_table(edges, uris), source, started)


@writes_data_root("ingest")
def ingest_with_facts(
    data_root: DataRootLike,
    repo: str | os.PathLike[str],
    *,
    scip: str | os.PathLike[str] | None = None,
    run_scip: bool = False,
    require_indexers: bool = True,
    ast_level: int = DEFAULT_AST_LEVEL,
    progress: Reporter = NULL_PROGRESS,
    **ingest_options: Any,
) -> Any:
    """What ``indexctl ingest REPO`` does: chunks **and** every code-intelligence fact.

    Runs/imports SCIP first (``scip``/``run_scip``), then
    :func:`python_ext.ingest.chunk_ingest.ingest_repository` with the SCIP ``symbol_resolver`` (so
    ``chunks.symbols`` holds the SCIP symbols defined in each chunk; tree-sitter names without
    SCIP) and an ``after_write`` hook that writes ``modules.parquet`` and
    ``symbol_edges.parquet`` (and empty SCIP tables when there is no SCIP and none exist).

    :param ingest_options: passed to ``ingest_repository`` (``embedder``, ``embedder_backend``,
        ``languages``, ``max_file_bytes``, ``include``, ``exclude``, ``default_skips``,
        ``chunk_budget``, ``context``, ``id_salt``, ``overlap``,
        ``chunk_workers``, ``shards``, ``engine``, ``ray_address``, ``workers``).
    :returns: the ingest summary; ``summary.facts`` holds the :class:`FactsResult` as a dict.
    """
    data_root = resolve_data_root(data_root)
    from python_ext.ingest.chunk_ingest import ingest_repository

    builder = FactsBuilder(
        data_root,
        repo,
        scip=scip,
        run_scip=run_scip,
        languages=ingest_options.get("languages"),
        max_file_bytes=ingest_options.get("max_file_bytes"),
        walk_options={key: ingest_options[key] for key in _WALK_KEYS if key in ingest_options},
        require_indexers=require_indexers,
        ast_level=ast_level,
        progress=progress,
    )
    return ingest_repository(
        data_root,
        builder.repo,
        symbol_resolver=builder.symbol_resolver,
        after_write=builder.after_write,
        progress=progress,
        **ingest_options,
    )
