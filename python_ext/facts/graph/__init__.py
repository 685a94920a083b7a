"""The symbol graph (``symbol_edges.parquet``).

* :mod:`~python_ext.facts.graph.table` — the table, its writer and the ``symbol_graph.json`` input;
* :mod:`~python_ext.facts.graph.scip_edges` — edges from a SCIP index;
* :mod:`~python_ext.facts.graph.syntax` — edges from syntax trees.
"""

from __future__ import annotations

from python_ext.facts.graph.scip_edges import ScipEdgeCollector
from python_ext.facts.graph.syntax import tree_sitter_edges
from python_ext.facts.graph.table import (
    EdgeKey,
    GraphResult,
    convert_symbol_graph_json,
    edges_table,
    write_edges,
)

__all__ = [
    "EdgeKey",
    "GraphResult",
    "ScipEdgeCollector",
    "convert_symbol_graph_json",
    "edges_table",
    "tree_sitter_edges",
    "write_edges",
]
