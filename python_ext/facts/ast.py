"""AST facts: ``ast/ast_nodes.parquet`` and ``ast/node_to_chunk.parquet`` (docs/contracts.md).

**Which nodes** (per file of a syntax-tree language):

* the file's root node (``module``, ``program``, ``source_file`` …; depth 0), named after the
  file, with the module-level symbol of the symbol graph (``tinylib.cli``);
* the root's named children (imports, statements, comments and top-level declarations);
* every declaration, at any depth — the definitions the chunker names (functions, methods,
  classes, interfaces, structs, enums, traits, types …; Rust items inside item-level macro
  bodies included), with ``name`` and the qualified ``symbol`` the chunker puts in
  ``chunks.symbols``;
* the named children of each declaration down to ``level`` levels (default 1: its direct
  children — name, parameters, body …; 0: declarations only; :data:`ALL_LEVELS`: every named
  node of the file).

``parent_id`` is the nearest recorded node that contains the node (by bytes), so every node lies
inside its parent and ``depth`` is its parent's depth + 1. Bounds are exact:
``text_hash == xxh64(file_bytes[start_byte:end_byte])``.

**node_to_chunk**: one row per (node, chunk) of the same file sharing at least one byte, for
the chunk set in the data root. A file whose bytes differ from what the chunk set was made from
(the ingest's file manifest disagrees) gets no rows, and is counted in ``files_stale``.
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import tree_sitter
import xxhash

from python_ext import chunkstore
from python_ext.atomic import atomic_write_parquet
from python_ext.config import DataRoot
from python_ext.contracts import AST_NODES_SCHEMA, NODE_TO_CHUNK_SCHEMA
from python_ext.ids import node_id
from python_ext.ingest.walk import SourceFile
from python_ext.lang.detect import TREE_SITTER_LANGUAGES
from python_ext.lang.macros import item_macro_bodies
from python_ext.lang.parsers import parser_for
from python_ext.lang.symbols import definitions, module_prefix
from python_ext.progress import NULL_PROGRESS, Reporter

#: Default number of levels of named children recorded below each declaration.
DEFAULT_AST_LEVEL = 1
#: ``level`` value that records every named node.
ALL_LEVELS = -1


@dataclass
class _Node:
    start: int
    end: int
    kind: str
    tree_depth: int
    start_line: int
    end_line: int
    name: str | None = None
    symbol: str | None = None


def _named_descendants(node: tree_sitter.Node, levels: int, depth: int, out: dict[tuple, _Node]) -> None:
    """Named descendants of ``node`` down to ``levels`` levels (``ALL_LEVELS``: all of them)."""
    stack = [(child, 1) for child in reversed(node.named_children)]
    while stack:
        current, level = stack.pop()
        if current.end_byte > current.start_byte:
            key = (current.start_byte, current.end_byte, current.type)
            out.setdefault(
                key,
                _Node(
                    current.start_byte,
                    current.end_byte,
                    current.type,
                    depth + level,
                    current.start_point.row + 1,
                    _last_line(current),
                ),
            )
        if levels == ALL_LEVELS or level < levels:
            stack.extend((child, level + 1) for child in reversed(current.named_children))


def _last_line(node: tree_sitter.Node) -> int:
    """1-based line of the node's last byte (a node ending at column 0 ends on the line before)."""
    row, column = node.end_point
    return row + 1 if column > 0 else max(row, node.start_point.row + 1)


def file_nodes(source: SourceFile, level: int = DEFAULT_AST_LEVEL) -> list[dict[str, Any]]:
    """The ``ast_nodes`` rows of one file (see the module docstring), in ``(start, -end)`` order."""
    data = source.data
    tree = parser_for(source.lang).parse(data)
    root = tree.root_node
    nodes: dict[tuple, _Node] = {}
    end = len(data)
    # the root stands for the file: its name is the file name, its symbol the module-level one
    # of the symbol graph (the module prefix, else the uri)
    nodes[(0, end, root.type)] = _Node(
        0,
        end,
        root.type,
        0,
        1,
        max(1, data.count(b"\n", 0, end - 1) + 1),
        name=source.uri.rsplit("/", 1)[-1],
        symbol=module_prefix(source.uri, source.lang, root) or source.uri,
    )
    for child in root.named_children:
        if child.end_byte > child.start_byte:
            first, last = child.start_point.row + 1, _last_line(child)
            key = (child.start_byte, child.end_byte, child.type)
            nodes.setdefault(key, _Node(child.start_byte, child.end_byte, child.type, 1, first, last))
    if level == ALL_LEVELS:
        _named_descendants(root, ALL_LEVELS, 0, nodes)
    bodies = item_macro_bodies(root, data) if source.lang == "rust" else []
    for d in definitions(tree, source.uri, source.lang, data, bodies):
        node = d.node
        if node is None or d.end_byte <= d.start_byte:
            continue
        key = (d.start_byte, d.end_byte, d.kind)
        depth = _tree_depth(node)
        entry = nodes.setdefault(
            key, _Node(d.start_byte, d.end_byte, d.kind, depth, node.start_point.row + 1, _last_line(node))
        )
        entry.name, entry.symbol = d.name, d.qualified
        if level > 0:
            _named_descendants(node, level, entry.tree_depth, nodes)
    return _with_parents(source.uri, data, list(nodes.values()))


def _tree_depth(node: tree_sitter.Node) -> int:
    depth = 0
    parent = node.parent
    while parent is not None:
        depth += 1
        parent = parent.parent
    return depth


def _with_parents(uri: str, data: bytes, nodes: list[_Node]) -> list[dict[str, Any]]:
    """Rows with ``parent_id``/``depth`` from byte containment (outer first on equal ranges)."""
    nodes.sort(key=lambda n: (n.start, -n.end, n.tree_depth))
    rows: list[dict[str, Any]] = []
    stack: list[tuple[_Node, int, int]] = []  # (node, id, depth)
    for n in nodes:
        while stack and not (stack[-1][0].start <= n.start and n.end <= stack[-1][0].end):
            stack.pop()
        parent_id, depth = (stack[-1][1], stack[-1][2] + 1) if stack else (None, 0)
        nid = node_id(uri, n.start, n.end, n.kind)
        rows.append(
            {
                "node_id": nid,
                "uri": uri,
                "kind": n.kind,
                "start_byte": n.start,
                "end_byte": n.end,
                "parent_id": parent_id,
                "depth": depth,
                "text_hash": xxhash.xxh64_hexdigest(data[n.start : n.end]),
                "start_line": n.start_line,
                "end_line": n.end_line,
                "name": n.name,
                "symbol": n.symbol,
            }
        )
        stack.append((n, nid, depth))
    return rows


def node_chunk_rows(
    nodes: Sequence[dict[str, Any]], chunks: Sequence[tuple[int, int, int]]
) -> list[dict[str, Any]]:
    """``node_to_chunk`` rows of one file: ``chunks`` are ``(start_byte, end_byte, chunk_id)``."""
    chunks = sorted(chunks)
    starts = [c[0] for c in chunks]
    out: list[dict[str, Any]] = []
    for n in nodes:
        lo, hi = n["start_byte"], n["end_byte"]
        i = max(0, bisect.bisect_right(starts, lo) - 1)
        while i < len(chunks) and chunks[i][0] < hi:
            c_start, c_end, cid = chunks[i]
            overlap = min(hi, c_end) - max(lo, c_start)
            if overlap > 0:
                out.append(
                    {
                        "node_id": n["node_id"],
                        "chunk_id": cid,
                        "uri": n["uri"],
                        "overlap_bytes": overlap,
                        "node_in_chunk": c_start <= lo and hi <= c_end,
                        "chunk_in_node": lo <= c_start and c_end <= hi,
                    }
                )
            i += 1
    return out


@dataclass
class AstResult:
    """What one AST facts write produced."""

    nodes_path: str
    node_to_chunk_path: str
    files: int
    nodes: int
    declarations: int
    node_to_chunk: int
    files_stale: int
    level: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _chunk_ranges(data_root: DataRoot) -> dict[str, list[tuple[int, int, int]]]:
    if not chunkstore.chunk_files(data_root):
        return {}
    table = chunkstore.read_chunks(data_root, columns=["id", "uri", "start_byte", "end_byte"])
    out: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for cid, uri, start, end in zip(
        table.column("id").to_pylist(),
        table.column("uri").to_pylist(),
        table.column("start_byte").to_pylist(),
        table.column("end_byte").to_pylist(),
        strict=True,
    ):
        out[uri].append((start, end, cid))
    return out


def _chunked_hashes(data_root: DataRoot) -> dict[str, str] | None:
    """uri → file hash the chunk set was made from (the ingest's manifest), or None."""
    from python_ext.ingest.cache import MANIFEST_NAME

    path = data_root.embed_cache_dir / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path, columns=["uri", "file_hash"])
    except (OSError, pa.ArrowException):
        return None
    return dict(zip(table.column("uri").to_pylist(), table.column("file_hash").to_pylist(), strict=True))


def write_ast_facts(
    data_root: DataRoot,
    files: Iterable[SourceFile],
    *,
    level: int = DEFAULT_AST_LEVEL,
    progress: Reporter = NULL_PROGRESS,
) -> AstResult:
    """Write ``ast_nodes.parquet`` and ``node_to_chunk.parquet`` for the syntax-tree files among
    ``files`` (atomically, replacing both), mapped to the data root's current chunks.

    :param level: levels of named children recorded below each declaration (default 1;
        0 declarations only; :data:`ALL_LEVELS` every named node).
    """
    if level < ALL_LEVELS:
        raise ValueError(f"ast level must be >= {ALL_LEVELS}, got {level}")
    started = time.perf_counter()
    chosen = [f for f in files if f.lang in TREE_SITTER_LANGUAGES]
    chunk_ranges = _chunk_ranges(data_root)
    hashes = _chunked_hashes(data_root)
    node_rows: list[dict[str, Any]] = []
    link_rows: list[dict[str, Any]] = []
    stale = 0
    with progress.task("ast facts", total=len(chosen)) as advance:
        for source in chosen:
            rows = file_nodes(source, level)
            node_rows.extend(rows)
            if hashes is not None and hashes.get(source.uri) not in (None, source.file_hash):
                stale += 1
            else:
                link_rows.extend(node_chunk_rows(rows, chunk_ranges.get(source.uri, [])))
            advance(1)
    atomic_write_parquet(data_root.ast_nodes_path, pa.Table.from_pylist(node_rows, schema=AST_NODES_SCHEMA))
    atomic_write_parquet(
        data_root.node_to_chunk_path, pa.Table.from_pylist(link_rows, schema=NODE_TO_CHUNK_SCHEMA)
    )
    return AstResult(
        nodes_path=str(data_root.ast_nodes_path),
        node_to_chunk_path=str(data_root.node_to_chunk_path),
        files=len(chosen),
        nodes=len(node_rows),
        declarations=sum(1 for r in node_rows if r["symbol"] is not None and r["depth"] > 0),
        node_to_chunk=len(link_rows),
        files_stale=stale,
        level=level,
        seconds=round(time.perf_counter() - started, 3),
    )
