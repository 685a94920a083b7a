"""Modules of a repository with their metrics and the module import graph (``modules.parquet``).

* :mod:`~python_ext.facts.modules.assign` — the module rule (one module per file);
* :mod:`~python_ext.facts.modules.metrics` — LOC, cyclomatic complexity, doc coverage;
* :mod:`~python_ext.facts.modules.imports` — import statements, their resolution, PageRank;
* :mod:`~python_ext.facts.modules.compute` — the modules table, written atomically;
* :mod:`~python_ext.facts.modules.jsonl` — the ``modules.jsonl`` input.
"""

from __future__ import annotations

from python_ext.facts.modules.assign import Module, ModuleMap, build_modules, iter_repo_files
from python_ext.facts.modules.compute import (
    ModuleFacts,
    ModulesResult,
    compute_modules,
    extract_modules,
    modules_facts,
    write_modules,
)
from python_ext.facts.modules.imports import ImportResolver, pagerank, raw_imports
from python_ext.facts.modules.jsonl import convert_modules_jsonl
from python_ext.facts.modules.metrics import FileMetrics, file_metrics, metric_groups, parse
from python_ext.ingest.walk import SourceFile

__all__ = [
    "FileMetrics",
    "ImportResolver",
    "Module",
    "ModuleFacts",
    "ModuleMap",
    "ModulesResult",
    "SourceFile",
    "build_modules",
    "compute_modules",
    "convert_modules_jsonl",
    "extract_modules",
    "file_metrics",
    "iter_repo_files",
    "metric_groups",
    "modules_facts",
    "pagerank",
    "parse",
    "raw_imports",
    "write_modules",
]
