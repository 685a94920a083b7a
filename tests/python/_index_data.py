"""Test data for the index tests: chunk sets written through python_ext.chunkstore.

``write_synthetic_chunks`` writes clustered synthetic vectors (for error cases and sizes the
real embedders cannot produce quickly); ``write_source_chunks`` embeds real source code
(python_ext's own files, split into line windows) with a real embedder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.contracts import EmbeddingInfo, chunks_schema
from python_ext.ids import chunk_id, content_hash

REPO_ROOT = Path(__file__).resolve().parents[2]


def clustered_vectors(
    n: int, d: int, *, clusters: int = 64, seed: int = 0, normalize: bool = True
) -> np.ndarray:
    """``n`` float32 vectors around ``clusters`` random centres (unit norm when ``normalize``)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d)).astype("float32")
    x = centres[rng.integers(0, clusters, n)] + 0.35 * rng.standard_normal((n, d)).astype("float32")
    if normalize:
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype="float32")


def chunk_table(
    vectors: np.ndarray,
    info: EmbeddingInfo,
    *,
    uris: list[str] | None = None,
    contents: list[str] | None = None,
    lines: list[tuple[int, int]] | None = None,
    ids: list[int] | None = None,
) -> pa.Table:
    """A chunks-contract table for ``vectors`` (synthetic text where none is given)."""
    n, d = vectors.shape
    uris = uris or [f"src/file_{i // 10:04d}.py" for i in range(n)]
    contents = contents or [f"def f{i}():\n    return {i}\n" for i in range(n)]
    lines = lines or [(1 + 3 * (i % 10), 3 + 3 * (i % 10)) for i in range(n)]
    offsets: dict[str, int] = {}
    starts, ends = [], []
    for uri, text in zip(uris, contents, strict=True):
        start = offsets.get(uri, 0)
        starts.append(start)
        ends.append(start + len(text.encode()))
        offsets[uri] = ends[-1] + 1
    ids = ids or [chunk_id(u, s, e) for u, s, e in zip(uris, starts, ends, strict=True)]
    cols = {
        "id": pa.array(ids, pa.int64()),
        "uri": pa.array(uris),
        "start_line": pa.array([a for a, _ in lines], pa.int32()),
        "end_line": pa.array([b for _, b in lines], pa.int32()),
        "start_byte": pa.array(starts, pa.int64()),
        "end_byte": pa.array(ends, pa.int64()),
        "preview": pa.array([c[:240] for c in contents]),
        "content": pa.array(contents),
        "lang": pa.array(["python"] * n),
        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), d),
        "content_hash": pa.array([content_hash(c) for c in contents]),
        "symbols": pa.array([[] for _ in range(n)], pa.list_(pa.string())),
    }
    return pa.table(cols, schema=chunks_schema(d, info))


def write_synthetic_chunks(
    data_root: DataRoot, n: int, d: int = 32, *, seed: int = 0, shards: int | None = None
) -> np.ndarray:
    """Write ``n`` clustered unit vectors as the chunk set; return them in index order (the
    chunk set's row order: shard by shard, sorted by chunk id)."""
    x = clustered_vectors(n, d, seed=seed)
    info = EmbeddingInfo(model=f"synthetic-d{d}", dim=d, normalized=True, kind="precomputed")
    chunkstore.replace_chunk_set(data_root, chunk_table(x, info), shards=shards)
    return chunkstore.embeddings_to_numpy(
        chunkstore.read_chunks(data_root, ["embedding"]).column("embedding")
    )


STDLIB = Path(json.__file__).resolve().parent.parent
#: Real code for the "real embeddings" tests: this project's package plus stdlib packages.
REAL_CODE_ROOTS: tuple[Path, ...] = (
    REPO_ROOT / "python_ext",
    STDLIB / "json",
    STDLIB / "email",
    STDLIB / "logging",
    STDLIB / "http",
    STDLIB / "asyncio",
)


def source_windows(
    roots: tuple[Path, ...] = REAL_CODE_ROOTS, window: int = 16
) -> list[tuple[str, int, int, str]]:
    """Split real Python files into ``window``-line chunks: ``(uri, first_line, last_line, text)``."""
    out = []
    for root in roots:
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            text_lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            base = REPO_ROOT if path.is_relative_to(REPO_ROOT) else STDLIB
            uri = path.relative_to(base).as_posix()
            for start in range(0, len(text_lines), window):
                body = "\n".join(text_lines[start : start + window])
                if body.strip():
                    out.append((uri, start + 1, min(start + window, len(text_lines)), body))
    return out


def write_code_chunks(
    data_root: DataRoot, embedder, roots: tuple[Path, ...] = REAL_CODE_ROOTS, window: int = 16
) -> int:
    """Embed real source code with ``embedder`` and write it as the chunk set; return the count."""
    from python_ext.embed import embedding_info

    wins = source_windows(roots, window)
    vectors = np.ascontiguousarray(embedder.embed([w[3] for w in wins]), dtype="float32")
    keep = np.linalg.norm(vectors, axis=1) > 0
    wins = [w for w, k in zip(wins, keep, strict=True) if k]
    vectors = vectors[keep]
    table = chunk_table(
        vectors,
        embedding_info(embedder),
        uris=[w[0] for w in wins],
        contents=[w[3] for w in wins],
        lines=[(w[1], w[2]) for w in wins],
    )
    chunkstore.replace_chunk_set(data_root, table)
    return len(wins)
