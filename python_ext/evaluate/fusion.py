"""Reciprocal rank fusion (RRF, Cormack, Clarke & Büttcher 2009).

The fused score of a chunk is the sum over the channels that returned it of ``1/(k0 + rank)``
(rank 1-based). A channel that did not return the chunk — or returned nothing at all for the
query — contributes 0. Ties are broken deterministically: higher fused score first, then the
best (smallest) rank the chunk reached in any channel, then the number of channels that
returned it (more first), then the smaller chunk id. The same formula, with the same k0, is what
the catalog mart ``v_rrf_contrib_by_channel`` recomputes from the pools.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

DEFAULT_RRF_K0 = 60


def rrf_fuse(
    rankings: Mapping[str, Sequence[int]],
    *,
    k0: int = DEFAULT_RRF_K0,
    k: int | None = None,
) -> list[tuple[int, float]]:
    """Fuse ranked lists of chunk ids with reciprocal rank fusion.

    :param rankings: channel name → chunk ids, best first (each id at most once per channel;
        a repeated id keeps its first rank). Empty or missing channels simply contribute nothing.
    :param k0: the RRF constant (default 60); must be ≥ 0.
    :param k: keep the top ``k`` fused results (default: all).
    :returns: ``(chunk_id, fused_score)`` best first.
    """
    if k0 < 0:
        raise ValueError(f"rrf k0 must be >= 0, got {k0}")
    score: dict[int, float] = {}
    best_rank: dict[int, int] = {}
    hits: dict[int, int] = {}
    for channel in sorted(rankings):
        seen: set[int] = set()
        for rank, cid in enumerate(rankings[channel], start=1):
            cid = int(cid)
            if cid in seen:
                continue
            seen.add(cid)
            score[cid] = score.get(cid, 0.0) + 1.0 / (k0 + rank)
            best_rank[cid] = min(best_rank.get(cid, rank), rank)
            hits[cid] = hits.get(cid, 0) + 1
    # Rounding makes equal sums compare equal whatever the float addition order was.
    order = sorted(score, key=lambda c: (-round(score[c], 12), best_rank[c], -hits[c], c))
    if k is not None:
        order = order[:k]
    return [(cid, score[cid]) for cid in order]
