"""The symbol graph's table (``symbol_edges.parquet``): who defines, imports, calls, references
and inherits from whom. ``weight`` is the number of occurrences behind an edge; ``src_uri`` /
``dst_uri`` are the files that define the symbols (null for external ones); ``resolution`` says
how sure the edge is (:data:`~python_ext.contracts.SYMBOL_RESOLUTIONS`: ``scip``, ``import``,
``same_module``, ``name_only``; null for a ``symbol_graph.json`` input that does not say). One
row per (src, dst, edge, resolution).

Edges come from SCIP (:mod:`python_ext.facts.graph.scip_edges`), from syntax trees
(:mod:`python_ext.facts.graph.syntax`), or from a ``symbol_graph.json`` file
(:func:`convert_symbol_graph_json`).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from python_ext.atomic import atomic_write_parquet
from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.contracts import SYMBOL_EDGE_KINDS, SYMBOL_EDGES_SCHEMA, SYMBOL_RESOLUTIONS
from python_ext.errors import InputError
from python_ext.lock import writes_data_root

EdgeKey = tuple[str, str, str, "str | None"]  # (src, dst, edge, resolution)
_GRAPH_HINT = 'expected {"edges": [{"src": …, "dst": …, "edge": "calls", "weight": 1}]} (see docs/facts.md)'


def edges_table(edges: Counter[EdgeKey], uris: dict[str, str]) -> pa.Table:
    """Build the ``symbol_edges`` table from edge counts and a symbol → defining-uri map."""
    rows = [
        {
            "src_symbol": src,
            "dst_symbol": dst,
            "edge": edge,
            "weight": float(weight),
            "src_uri": uris.get(src),
            "dst_uri": uris.get(dst),
            "resolution": resolution,
        }
        for (src, dst, edge, resolution), weight in sorted(edges.items(), key=lambda kv: _order(kv[0]))
    ]
    return pa.Table.from_pylist(rows, schema=SYMBOL_EDGES_SCHEMA)


def _order(key: EdgeKey) -> tuple[str, str, str, str]:
    return (key[0], key[1], key[2], key[3] or "")


@dataclass
class GraphResult:
    """Summary of one ``symbol_edges.parquet`` write (``by_resolution``: edges per resolution;
    ``calls_by_resolution``: the ``calls`` edges alone)."""

    path: str
    edges: int
    by_kind: dict[str, int]
    source: str
    seconds: float
    by_resolution: dict[str, int] = field(default_factory=dict)
    calls_by_resolution: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def write_edges(data_root: DataRoot, table: pa.Table, source: str, started: float) -> GraphResult:
    """Write ``symbol_edges.parquet`` atomically and summarise it."""
    atomic_write_parquet(data_root.symbol_edges_path, table)
    kinds = Counter(table.column("edge").to_pylist())
    pairs = list(zip(table.column("edge").to_pylist(), table.column("resolution").to_pylist(), strict=True))
    resolutions = Counter(r or "unknown" for _, r in pairs)
    calls = Counter(r or "unknown" for e, r in pairs if e == "calls")
    order = [*SYMBOL_RESOLUTIONS, "unknown"]
    return GraphResult(
        path=str(data_root.symbol_edges_path),
        edges=table.num_rows,
        by_kind={k: kinds.get(k, 0) for k in SYMBOL_EDGE_KINDS},
        source=source,
        seconds=round(time.perf_counter() - started, 3),
        by_resolution={r: resolutions[r] for r in order if resolutions.get(r) or r != "unknown"},
        calls_by_resolution={r: calls[r] for r in order if calls.get(r) or r != "unknown"},
    )


@writes_data_root("graph")
def convert_symbol_graph_json(data_root: DataRootLike, path: str | os.PathLike[str]) -> GraphResult:
    """Convert a ``symbol_graph.json`` file into ``symbol_edges.parquet``.

    Accepted shapes: ``{"edges": [{"src", "dst", "edge", "weight"?, "src_uri"?, "dst_uri"?,
    "resolution"?}]}`` (also ``src_symbol``/``dst_symbol`` keys), or networkx node-link JSON
    ``{"nodes": [...], "links": [{"source", "target", "edge", "weight"?}]}``. ``weight``
    defaults to 1; ``edge`` must be one of calls, references, imports, inherits, implements,
    defines; ``resolution``, when given, one of scip, import, same_module, name_only (null when
    absent: the file does not say). Duplicate (src, dst, edge, resolution) rows are summed.

    :raises InputError: unreadable JSON or a bad field; the message names the JSON path.
    """
    data_root = resolve_data_root(data_root)
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"symbol graph JSON not found: {path}", hint="pass an existing file to --from-json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            hint=_GRAPH_HINT,
        ) from exc
    key = "edges" if isinstance(data, dict) and "edges" in data else "links"
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InputError(
            f"{path}: expected an object with an `edges` (or node-link `links`) list",
            hint=_GRAPH_HINT,
        )
    edges: Counter[EdgeKey] = Counter()
    uris: dict[str, str] = {}
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{path}: {where}: expected an object", hint=_GRAPH_HINT)
        src = item.get("src", item.get("src_symbol", item.get("source")))
        dst = item.get("dst", item.get("dst_symbol", item.get("target")))
        edge = item.get("edge", item.get("kind"))
        weight = item.get("weight", 1)
        for name, value in (("src", src), ("dst", dst), ("edge", edge)):
            if not isinstance(value, str) or not value:
                raise InputError(f"{path}: {where}.{name}: missing or not a string", hint=_GRAPH_HINT)
        if edge not in SYMBOL_EDGE_KINDS:
            raise InputError(
                f"{path}: {where}.edge: unknown edge kind {edge!r}",
                hint=f"edge kinds: {', '.join(SYMBOL_EDGE_KINDS)}",
            )
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise InputError(
                f"{path}: {where}.weight: expected a non-negative number, got {weight!r}", hint=_GRAPH_HINT
            )
        resolution = item.get("resolution")
        if resolution is not None and resolution not in SYMBOL_RESOLUTIONS:
            raise InputError(
                f"{path}: {where}.resolution: unknown resolution {resolution!r}",
                hint=f"resolutions: {', '.join(SYMBOL_RESOLUTIONS)} (or leave it out)",
            )
        edges[(src, dst, edge, resolution)] += weight
        for sym, uri_key in ((src, "src_uri"), (dst, "dst_uri")):
            if isinstance(item.get(uri_key), str):
                uris.setdefault(sym, item[uri_key])
    return write_edges(data_root, edges_table(edges, uris), str(path), started)
