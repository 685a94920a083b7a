"""Reciprocal rank fusion (RRF, Cormack, Clarke & Büttcher 2009).

The fused score of a chunk is the sum over the channels that returned it within the rank
cut-off of ``1/(k0 + rank)`` (rank 1-based). A channel that did not return the chunk — or
returned nothing at all for the query — contributes 0, and so does a rank past the cut-off.
Ties are broken deterministically: higher fused score first, then the best (smallest) rank the
chunk reached in any channel, then the number of channels that returned it (more first), then
the smaller chunk id.

The defaults are the catalog's dbt vars ``rrf_k0`` (60) and ``rrf_rank_cutoff`` (10) in
``dbt_project.yml`` (a test keeps them equal), so ``indexctl search``, ``indexctl eval run``
and the mart ``v_rrf_contrib_by_channel`` compute the same fused scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: The RRF constant: a hit at rank r contributes 1 / (k0 + r) (dbt var ``rrf_k0``).
DEFAULT_RRF_K0 = 60
#: Ranks past this contribute nothing (dbt var ``rrf_rank_cutoff``); also how deep each input
#: channel is searched for the hybrid ranking.
DEFAULT_RRF_RANK_CUTOFF = 10


def rrf_fuse(
    rankings: Mapping[str, Sequence[int]],
    *,
    k0: int = DEFAULT_RRF_K0,
    k: int | None = None,
    cutoff: int | None = None,
) -> list[tuple[int, float]]:
    """Fuse ranked lists of chunk ids with reciprocal rank fusion.

    :param rankings: channel name → chunk ids, best first (each id at most once per channel;
        a repeated id keeps its first rank). Empty or missing channels simply contribute nothing.
    :param k0: the RRF constant (default 60); must be ≥ 0.
    :param k: keep the top ``k`` fused results (default: all).
    :param cutoff: ranks above this contribute nothing (default: no cut-off).
    :returns: ``(chunk_id, fused_score)`` best first.
    """
    if k0 < 0:
        raise ValueError(f"rrf k0 must be >= 0, got {k0}")
    if cutoff is not None and cutoff < 1:
        raise ValueError(f"rrf rank cutoff must be >= 1, got {cutoff}")
    score: dict[int, float] = {}
    best_rank: dict[int, int] = {}
    hits: dict[int, int] = {}
    for channel in sorted(rankings):
        seen: set[int] = set()
        for rank, cid in enumerate(rankings[channel], start=1):
            if cutoff is not None and rank > cutoff:
                break
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
