"""Metrics against hand-computed values on tiny pools."""

from __future__ import annotations

import math

import pytest

from python_ext.evaluate.metrics import (
    channel_metrics,
    mrr_at_k,
    ndcg_at_k,
    overlap_at_k,
    recall_at_k,
)

RANKED = [5, 1, 7, 2, 9]
POSITIVES = [1, 2, 3]


def test_recall_counts_positives_found_in_the_top_k() -> None:
    assert recall_at_k(RANKED, POSITIVES, 5) == pytest.approx(2 / 3)
    assert recall_at_k(RANKED, POSITIVES, 2) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, POSITIVES, 1) == 0.0
    assert recall_at_k([], POSITIVES, 10) == 0.0


def test_mrr_is_the_reciprocal_rank_of_the_first_positive() -> None:
    assert mrr_at_k(RANKED, POSITIVES, 5) == 0.5
    assert mrr_at_k(RANKED, POSITIVES, 1) == 0.0
    assert mrr_at_k([3, 1], POSITIVES, 5) == 1.0


def test_ndcg_binary_relevance_by_hand() -> None:
    # hits at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); IDCG (3 positives) = 1 + 1/log2(3) + 1/2
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 0.5
    assert ndcg_at_k(RANKED, POSITIVES, 5) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(RANKED, POSITIVES, 5) == pytest.approx(0.498189, abs=1e-6)
    # k=2: one hit at rank 2, ideal = two hits at ranks 1-2
    assert ndcg_at_k(RANKED, POSITIVES, 2) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([1, 2, 3], POSITIVES, 3) == pytest.approx(1.0)


def test_overlap_with_the_oracle() -> None:
    assert overlap_at_k([5, 1, 7], [1, 5, 8], 3) == pytest.approx(2 / 3)
    assert overlap_at_k([5, 1, 7], [], 3) is None
    assert overlap_at_k([1, 5, 8, 0], [1, 5, 8, 9], 3) == 1.0


def test_metrics_need_positives() -> None:
    with pytest.raises(ValueError, match="at least one positive"):
        recall_at_k([1], [], 10)


def test_channel_metrics_macro_average() -> None:
    results = {"q1": RANKED, "q2": [3]}
    positives = {"q1": POSITIVES, "q2": [3], "q3": [4]}  # q3 returned nothing: scores 0
    oracle = {"q1": [5, 1, 7, 2, 8], "q2": [3, 4], "q3": [4]}
    m = channel_metrics("faiss", results, positives, 5, oracle=oracle, queries_per_s=12.5)
    assert m.n_queries == 3
    assert m.recall_at_k == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert m.mrr_at_k == pytest.approx((0.5 + 1 + 0) / 3)
    assert m.ndcg_at_k == pytest.approx((0.498189 + 1 + 0) / 3, abs=1e-6)
    # q1: 4 of 5 oracle ids; q2: 1 of 2; q3: 0 of 1
    assert m.oracle_overlap_at_k == pytest.approx((4 / 5 + 1 / 2 + 0) / 3)
    assert m.queries_per_s == 12.5
    assert channel_metrics("bm25", {}, {}, 5).n_queries == 0


def test_positive_groups_count_a_target_once_whatever_it_was_cut_into() -> None:
    from python_ext.evaluate.metrics import channel_metrics, ndcg_at_k, recall_at_k

    # one function cut into chunks 1, 2, 3 and another one in chunk 9
    groups = [[1, 2, 3], [9]]
    positives = [1, 2, 3, 9]
    assert recall_at_k([2, 7, 8], positives, 3) == 0.25  # chunk-level: 1 of 4 chunks
    assert recall_at_k([2, 7, 8], positives, 3, groups) == 0.5  # one of the two functions
    assert recall_at_k([2, 3, 9], positives, 3, groups) == 1.0
    assert ndcg_at_k([2, 3, 9], positives, 3, groups) == pytest.approx((1 + 1 / 2) / (1 + 1 / math.log2(3)))
    m = channel_metrics("dense", {"q": [7, 3, 9]}, {"q": positives}, 10, groups={"q": groups})
    assert (m.recall_at_k, m.mrr_at_k) == (1.0, 0.5)
    plain = channel_metrics("dense", {"q": [7, 3, 9]}, {"q": positives}, 10)
    assert plain.recall_at_k == 0.5 and plain.mrr_at_k == 0.5
