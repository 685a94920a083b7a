"""Masked corpus views of the evaluation (docstring queries must not find their own docstring).

The channels themselves are :mod:`python_ext.search.channels` — the very functions
``indexctl search`` runs. This module builds the masked inputs they are run on:
:func:`mask_text` removes character spans from chunk content; :func:`replace_rows` builds the
vector matrix with re-embedded masked chunks; :func:`masked_index_copy` clones the published
index, empties it and re-adds every vector in the original row order with the masked
replacements, then re-applies the operating point. Re-adding (rather than ``remove_ids``)
works for every FAISS family: Flat and IVF keep their trained quantizers and only re-assign
the vectors; HNSW rebuilds its graph over the masked vectors with the same parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import faiss
import numpy as np


def mask_text(content: str, spans: Sequence[tuple[int, int]]) -> str:
    """Remove the character spans ``[start, end)`` from ``content`` (overlaps allowed).

    :param content: chunk content.
    :param spans: character spans to cut out.
    """
    if not spans:
        return content
    merged: list[list[int]] = []
    for s, e in sorted((max(0, s), min(len(content), e)) for s, e in spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    parts: list[str] = []
    pos = 0
    for s, e in merged:
        parts.append(content[pos:s])
        pos = e
    parts.append(content[pos:])
    return "".join(parts)


def replace_rows(ids: np.ndarray, vectors: np.ndarray, replacements: Mapping[int, np.ndarray]) -> np.ndarray:
    """A copy of ``vectors`` where the rows of the chunk ids in ``replacements`` are replaced.

    :param ids: chunk id of each row.
    :param vectors: float32 ``(n, d)``.
    :param replacements: chunk id → new vector.
    """
    out = np.array(vectors, dtype=np.float32, copy=True)
    if not replacements:
        return out
    row_of = {int(c): i for i, c in enumerate(ids.tolist())}
    for cid, vec in replacements.items():
        out[row_of[int(cid)]] = vec
    return out


def masked_index_copy(
    index: faiss.Index,
    row_ids: np.ndarray,
    row_vectors: np.ndarray,
    operating_point: str,
) -> faiss.Index:
    """A copy of ``index`` holding ``row_vectors`` (same ids, same row order) instead.

    :param index: the published ``IndexIDMap2`` (left untouched).
    :param row_ids: chunk ids in FAISS row order (the id map's ``faiss_row`` order).
    :param row_vectors: the vectors to hold, row-aligned with ``row_ids`` (masked rows replaced).
    :param operating_point: re-applied to the copy.
    """
    from python_ext.index.load import apply_operating_point
    from python_ext.index.shards import is_sharded, refilled_copy

    if is_sharded(index):
        # IndexShards cannot be cloned: refill a copy of each shard with its rows' vectors
        copy = refilled_copy(index, row_vectors)
    else:
        copy = faiss.clone_index(index)
        copy.reset()
        copy.add_with_ids(
            np.ascontiguousarray(row_vectors, dtype=np.float32), np.asarray(row_ids, dtype=np.int64)
        )
    apply_operating_point(copy, operating_point)
    return copy
