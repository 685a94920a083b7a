"""Retrieval metrics with binary relevance (a chunk is relevant iff it is a positive).

For one query with ranked results ``r_1 … r_n`` (best first), positives ``P`` and cut-off k:

* ``recall@k``  = |{r_1…r_k} ∩ P| / |P|
* ``MRR@k``     = 1 / (rank of the first positive within the top k), 0 when there is none
* ``nDCG@k``    = DCG / IDCG with DCG = Σ_{i≤k, r_i∈P} 1/log2(i+1) and
  IDCG = Σ_{i=1}^{min(|P|,k)} 1/log2(i+1)
* ``overlap@k`` = |top-k of a channel ∩ top-k of the exact oracle| / |top-k of the oracle|
  (ANN-vs-oracle agreement; how much of the exact answer the channel returns)

Each is averaged over queries (macro average). Queries without positives are not scored
(query generation never emits them).

**Positive groups.** When a query's target is a function that the chunker may have cut into
several chunks (the stripped protocol: a hit is *a* chunk overlapping the function), its
positives come in groups, one per target: a group counts as found when any of its chunks is in
the top k. ``recall@k`` is then the share of groups found, ``nDCG@k`` counts the first chunk of
each group (IDCG over ``min(#groups, k)``) and ``MRR@k`` is unchanged — so cutting a function
into more chunks is never penalized by the metric itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


def recall_at_k(
    ranked: Sequence[int],
    positives: Iterable[int],
    k: int,
    groups: Sequence[Sequence[int]] | None = None,
) -> float:
    """Fraction of the positives found in the top ``k`` of ``ranked`` — or, with ``groups``,
    of the groups with at least one chunk there.

    :param ranked: chunk ids, best first.
    :param positives: relevant chunk ids (non-empty).
    :param k: cut-off (≥ 1).
    :param groups: the positives grouped by target (see the module docstring).
    """
    pos = set(positives)
    if not pos:
        raise ValueError("recall@k needs at least one positive")
    top = set(ranked[:k])
    if groups:
        return sum(1 for g in groups if top.intersection(g)) / len(groups)
    return len(pos & top) / len(pos)


def mrr_at_k(ranked: Sequence[int], positives: Iterable[int], k: int) -> float:
    """Reciprocal rank (1-based) of the first positive in the top ``k``; 0.0 when none."""
    pos = set(positives)
    for i, cid in enumerate(ranked[:k], start=1):
        if cid in pos:
            return 1.0 / i
    return 0.0


def ndcg_at_k(
    ranked: Sequence[int],
    positives: Iterable[int],
    k: int,
    groups: Sequence[Sequence[int]] | None = None,
) -> float:
    """Binary-relevance nDCG of the top ``k`` (1.0 = all positives ranked first); with
    ``groups``, the first chunk of each group is the relevant one."""
    pos = set(positives)
    if not pos:
        raise ValueError("nDCG@k needs at least one positive")
    if groups:
        member = {cid: i for i, g in enumerate(groups) for cid in g}
        seen: set[int] = set()
        dcg = 0.0
        for i, cid in enumerate(ranked[:k], start=1):
            g = member.get(cid)
            if g is not None and g not in seen:
                seen.add(g)
                dcg += 1.0 / math.log2(i + 1)
        ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(groups), k) + 1))
        return dcg / ideal
    dcg = sum(1.0 / math.log2(i + 1) for i, cid in enumerate(ranked[:k], start=1) if cid in pos)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(pos), k) + 1))
    return dcg / ideal


def overlap_at_k(ranked: Sequence[int], oracle: Sequence[int], k: int) -> float | None:
    """Share of the oracle's top ``k`` that ``ranked``'s top ``k`` also returns.

    :returns: None when the oracle returned nothing for this query.
    """
    truth = set(oracle[:k])
    if not truth:
        return None
    return len(truth.intersection(ranked[:k])) / len(truth)


@dataclass(frozen=True)
class ChannelMetrics:
    """Macro-averaged metrics of one channel over the queries of a run."""

    source: str
    n_queries: int
    recall_at_k: float
    mrr_at_k: float
    ndcg_at_k: float
    oracle_overlap_at_k: float | None
    queries_per_s: float | None

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "n_queries": self.n_queries,
            "recall_at_k": self.recall_at_k,
            "mrr_at_k": self.mrr_at_k,
            "ndcg_at_k": self.ndcg_at_k,
            "oracle_overlap_at_k": self.oracle_overlap_at_k,
            "queries_per_s": self.queries_per_s,
        }


def channel_metrics(
    source: str,
    results: Mapping[str, Sequence[int]],
    positives: Mapping[str, Iterable[int]],
    k: int,
    *,
    oracle: Mapping[str, Sequence[int]] | None = None,
    queries_per_s: float | None = None,
    groups: Mapping[str, Sequence[Sequence[int]]] | None = None,
) -> ChannelMetrics:
    """Average the per-query metrics of one channel.

    :param source: channel name.
    :param results: query_id → ranked chunk ids (a query missing here counts as no results).
    :param positives: query_id → positives; every query here is scored.
    :param k: cut-off.
    :param oracle: query_id → the exact oracle's ranked ids; enables ``overlap@k``.
    :param queries_per_s: throughput measured by the caller, carried through.
    :param groups: query_id → positive groups, for the queries whose targets are groups.
    """
    qids = list(positives)
    n = len(qids)
    if n == 0:
        return ChannelMetrics(source, 0, 0.0, 0.0, 0.0, None, queries_per_s)
    rec = mrr = ndcg = 0.0
    overlaps: list[float] = []
    for qid in qids:
        ranked = list(results.get(qid, ()))
        pos = list(positives[qid])
        grouped = groups.get(qid) if groups else None
        rec += recall_at_k(ranked, pos, k, grouped)
        mrr += mrr_at_k(ranked, pos, k)
        ndcg += ndcg_at_k(ranked, pos, k, grouped)
        if oracle is not None:
            ov = overlap_at_k(ranked, list(oracle.get(qid, ())), k)
            if ov is not None:
                overlaps.append(ov)
    overlap = sum(overlaps) / len(overlaps) if overlaps else None
    return ChannelMetrics(source, n, rec / n, mrr / n, ndcg / n, overlap, queries_per_s)
