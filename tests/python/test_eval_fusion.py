"""Reciprocal rank fusion: sums, ties, missing channels, and code-aware tokens."""

from __future__ import annotations

import pytest

from python_ext.lang.tokens import code_tokens, identifier_words, split_identifier
from python_ext.search.fusion import rrf_fuse


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = rrf_fuse({"faiss": [1, 2, 3], "bm25": [3, 1]}, k0=60)
    assert [cid for cid, _ in fused] == [1, 3, 2]
    scores = dict(fused)
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[2] == pytest.approx(1 / 62)


def test_rrf_k_cuts_and_k0_changes_scores() -> None:
    fused = rrf_fuse({"a": [7, 8, 9]}, k0=0, k=2)
    assert fused == [(7, 1.0), (8, 0.5)]


def test_rrf_rank_cutoff_drops_deep_ranks() -> None:
    fused = dict(rrf_fuse({"a": [1, 2, 3], "b": [3, 2, 1]}, k0=60, cutoff=2))
    assert fused == {1: pytest.approx(1 / 61), 2: pytest.approx(2 / 62), 3: pytest.approx(1 / 61)}
    with pytest.raises(ValueError, match="cutoff must be >= 1"):
        rrf_fuse({"a": [1]}, cutoff=0)


def test_search_and_eval_defaults_are_the_catalogs_dbt_vars() -> None:
    """`indexctl search`, `eval run` and v_rrf_contrib_by_channel fuse with the same k0 and
    cut-off: the Python defaults are dbt_project.yml's vars."""
    from pathlib import Path

    import yaml

    from python_ext.search.fusion import DEFAULT_RRF_K0, DEFAULT_RRF_RANK_CUTOFF

    project = yaml.safe_load((Path(__file__).resolve().parents[2] / "dbt_project.yml").read_text())
    assert project["vars"]["rrf_k0"] == DEFAULT_RRF_K0 == 60
    assert project["vars"]["rrf_rank_cutoff"] == DEFAULT_RRF_RANK_CUTOFF == 10


def test_rrf_equal_scores_break_on_chunk_id() -> None:
    fused = rrf_fuse({"a": [2, 1], "b": [1, 2]}, k0=60)
    assert [cid for cid, _ in fused] == [1, 2]
    assert fused[0][1] == pytest.approx(fused[1][1])


def test_rrf_equal_scores_break_on_best_rank_before_id() -> None:
    # k0=0: 9, 8 and 7 are rank 1 once (1.0 each); 4 is rank 2 twice (0.5 + 0.5 = 1.0).
    # All four tie; best rank puts 4 last although its id is the smallest.
    fused = rrf_fuse({"a": [9], "b": [8, 4], "c": [7, 4]}, k0=0)
    assert [cid for cid, _ in fused] == [7, 8, 9, 4]
    assert {score for _, score in fused} == {1.0}


def test_rrf_missing_and_empty_channels_contribute_nothing() -> None:
    assert rrf_fuse({"faiss": [], "bm25": [4, 5]}) == rrf_fuse({"bm25": [4, 5]})
    assert rrf_fuse({"bm25": [4, 5]}) == [(4, pytest.approx(1 / 61)), (5, pytest.approx(1 / 62))]
    assert rrf_fuse({}) == []


def test_rrf_repeated_id_keeps_first_rank() -> None:
    assert rrf_fuse({"a": [3, 3, 4]}, k0=0) == [(3, 1.0), (4, pytest.approx(1 / 3))]


def test_rrf_rejects_negative_k0() -> None:
    with pytest.raises(ValueError, match="k0 must be >= 0"):
        rrf_fuse({"a": [1]}, k0=-1)


def test_code_tokens_split_identifiers() -> None:
    assert split_identifier("parseHTTPResponse_v2") == ["parse", "http", "response", "v", "2"]
    assert code_tokens("def parse_config_file(path):") == [
        "def",
        "parse",
        "config",
        "file",
        "parse_config_file",
        "path",
    ]
    assert code_tokens("Return the parseConfig of it") == ["return", "parse", "config", "parseconfig"]
    assert identifier_words("pkg.mod.parse_config_file") == "parse config file"
