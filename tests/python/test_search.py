"""Search on real data roots: hybrid = RRF(faiss, bm25), filters before ranking (exactly k hits),
exact re-rank, symbols and modules, the version's own chunk metadata, atomic refresh, bad input."""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

import numpy as np
import pytest
from _index_data import chunk_table, clustered_vectors, write_synthetic_chunks

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.contracts import EmbeddingInfo
from python_ext.errors import (
    ChunkNotFoundError,
    ConfigError,
    IndexMismatchError,
    InputError,
    NoMatchError,
    UsageError,
)
from python_ext.index.build import build_index
from python_ext.index.vectors import embeddings_by_ids
from python_ext.search import Searcher, channels
from python_ext.search.fusion import rrf_fuse

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_CACHE: dict[str, Path] = {}


def _facts_root(name: str, repo: Path, scip: Path | None = None) -> Path:
    """A data root ingested with facts (hashing embedder), built once per session."""
    if name not in _CACHE or not _CACHE[name].exists():
        import tempfile

        from python_ext.facts.builder import ingest_with_facts

        root = Path(tempfile.mkdtemp(prefix=f"i10-search-{name}-")) / "data"
        ingest_with_facts(root, repo, scip=scip, embedder="hashing")
        _CACHE[name] = root
    return _CACHE[name]


@pytest.fixture
def tiny(data_root: DataRoot) -> DataRoot:
    """tiny_repo (10 languages, modules, symbol graph) with a published Flat version."""
    shutil.copytree(_facts_root("tiny", FIXTURES / "tiny_repo"), data_root.root)
    build_index(data_root, gpu="off")
    return data_root


def _satisfies(hit, *, lang=None, include=None, exclude=None, module=None, symbol_ids=None) -> bool:
    c = hit.chunk
    ok = lang is None or c.language == lang
    ok = ok and (
        include is None or fnmatch.fnmatchcase(c.uri, include + ("*" if include.endswith("/") else ""))
    )
    ok = ok and (exclude is None or not fnmatch.fnmatchcase(c.uri, exclude))
    ok = ok and (
        module is None or (c.module_id or "") == module or (c.module_id or "").startswith(module + ".")
    )
    return ok and (symbol_ids is None or c.chunk_id in symbol_ids)


def test_hybrid_is_the_rrf_of_the_faiss_and_bm25_channels(tiny: DataRoot) -> None:
    searcher = Searcher(tiny)
    n = searcher.state.ntotal
    for query in ("area of a circle", "load settings from a yaml file", "greet the user loudly"):
        hybrid = searcher.search(query, 5)
        assert hybrid.channel == "hybrid" and hybrid.rrf == {"k0": 60, "rank_cutoff": 10}
        dense = searcher.search(query, n, channel="faiss").hits  # min(cutoff, corpus) deep
        lexical = searcher.search(query, n, channel="bm25").hits
        expected = rrf_fuse(
            {"faiss": [h.chunk_id for h in dense], "bm25": [h.chunk_id for h in lexical]},
            k0=60,
            k=5,
            cutoff=10,
        )
        assert [(h.chunk_id, pytest.approx(h.score)) for h in hybrid.hits] == expected
        for hit in hybrid.hits:  # each hit says where each channel ranked it
            for name, ranked in (("faiss", dense), ("bm25", lexical)):
                where = next((i for i, h in enumerate(ranked, 1) if h.chunk_id == hit.chunk_id), None)
                got = hit.channel_ranks.get(name)
                assert (got.rank if got else None) == where
            assert hit.score == pytest.approx(sum(1 / (60 + r.rank) for r in hit.channel_ranks.values()))
        assert set(hybrid.timings) >= {"embed", "ann", "bm25", "fuse", "hydrate", "total"}


@pytest.mark.parametrize("factory", ["Flat", "IVF4,Flat", "HNSW8,Flat"])
@pytest.mark.parametrize("channel", ["hybrid", "faiss", "flat", "bm25"])
def test_every_filter_returns_exactly_k_hits_that_satisfy_it(
    tiny: DataRoot, factory: str, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FAISS's own IDSelector path, also for these small masks (normally searched exactly)
    monkeypatch.setattr(channels, "EXACT_FILTER_ROWS", 0)
    build_index(tiny, factory=factory, gpu="off")
    searcher = Searcher(tiny)
    query, k = "shape area circle", 4
    shape_ids = {c.chunk.chunk_id for c in searcher.query_by_symbols("Shape")}
    cases = [
        ({"lang": "python"}, {"lang": "python"}),
        ({"include": "tinylib/"}, {"include": "tinylib/"}),
        ({"exclude": "*.md"}, {"exclude": "*.md"}),
        ({"module": "tinylib"}, {"module": "tinylib"}),
        ({"symbol": "Shape"}, {"symbol_ids": shape_ids}),
        (
            {"lang": "py", "exclude": "tinylib/geometry/*"},
            {"lang": "python", "exclude": "tinylib/geometry/*"},
        ),
    ]
    for options, check in cases:
        result = searcher.search(query, k, channel=channel, **options)
        assert result.matched is not None and result.matched > k, options
        if channel == "bm25":
            # bm25 returns only chunks containing a query term: as many as match, up to k
            mask = searcher.state.meta.mask(
                __import__("python_ext.search.filters", fromlist=["x"]).SearchFilters.build(**options),
                searcher.state.symbols.rows,
            )
            positive = int(((searcher.state.bm25.scores(query) > 0) & mask).sum())
            assert len(result.hits) == min(k, positive), options
        else:
            assert len(result.hits) == k, (options, factory)
        assert all(_satisfies(h, **check) for h in result.hits), options
        assert [h.rank for h in result.hits] == list(range(1, len(result.hits) + 1))
    kinds = [searcher.search(query, 2, channel=channel, **o).filters["kind"] for o, _ in cases]
    assert kinds == ["language", "glob", "glob", "module", "symbol", "combined"]


def test_filtered_dense_search_equals_the_exact_search_of_the_matching_chunks(
    tiny: DataRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    searcher = Searcher(tiny)  # Flat: exact
    n = searcher.state.ntotal
    unfiltered = searcher.search("parse a configuration value", n, channel="flat").hits
    python = [h.chunk_id for h in unfiltered if h.chunk.language == "python"]
    for threshold in (0, channels.EXACT_FILTER_ROWS):  # FAISS selector path, and the exact path
        monkeypatch.setattr(channels, "EXACT_FILTER_ROWS", threshold)
        got = searcher.search("parse a configuration value", 5, channel="faiss", lang="python")
        assert [h.chunk_id for h in got.hits] == python[:5]


def test_filters_that_match_nothing_or_are_malformed_say_so(tiny: DataRoot) -> None:
    searcher = Searcher(tiny)
    with pytest.raises(UsageError, match="unknown language 'cobol'") as err:
        searcher.search("x", 3, lang="cobol")
    assert err.value.exit_code == 2 and "python" in err.value.hint
    with pytest.raises(
        NoMatchError, match=r"no chunk is in language kotlin; the index holds: .*python \(\d+\)"
    ):
        searcher.search("x", 3, lang="kotlin")
    with pytest.raises(NoMatchError, match="no path matches --include 'nope/\\*'"):
        searcher.search("x", 3, include="nope/*")
    with pytest.raises(
        NoMatchError, match=r"no chunk is in module 'tinylib.geomtry' \(did you mean tinylib.geometry"
    ):
        searcher.search("x", 3, module="tinylib.geomtry")
    with pytest.raises(NoMatchError, match="no symbol named 'Shpae'") as err:
        searcher.search("x", 3, symbol="Shpae")
    assert "did you mean Shape" in err.value.hint
    with pytest.raises(NoMatchError, match=r"no chunk matches --lang go --module tinylib .*--lang alone: 1"):
        searcher.search("x", 3, lang="go", module="tinylib")
    with pytest.raises(UsageError, match="--include needs a non-empty value"):
        searcher.search("x", 3, include="  ")
    # SQL wildcards and quotes are literal characters of the glob, never SQL
    for pattern in ("%", "tinylib/%", "'; drop table chunks; --", "tinylib/text_util.py'"):
        with pytest.raises(NoMatchError, match="no path matches"):
            searcher.search("x", 3, include=pattern)
    uris = set(searcher.state.meta.uris)
    underscored = {u for u in uris if "_" in u}
    assert underscored and len(underscored) < len(uris)
    hits = searcher.search("shape", searcher.state.ntotal, channel="faiss", include="*_*").hits
    assert {h.uri for h in hits} == underscored


def test_bad_queries_and_k_are_usage_errors(tiny: DataRoot, run_cli) -> None:
    searcher = Searcher(tiny)
    n = searcher.state.ntotal
    for query in ("", "   \n\t"):
        with pytest.raises(UsageError, match="the query text is empty"):
            searcher.search(query)
    for k in (0, -3, n + 1):
        with pytest.raises(UsageError, match="-k"):
            searcher.search("shape", k)
    assert len(searcher.search("shape", n, channel="faiss").hits) == n  # k = the corpus is fine
    with pytest.raises(UsageError, match="unknown channel 'dense'"):
        searcher.search("shape", 3, channel="dense")
    with pytest.raises(ChunkNotFoundError):
        searcher.chunk(12345)
    for args, code, text in (
        (["search", "", "--out", tiny.root], 2, "the query text is empty"),
        (["search", "shape", "-k", "0", "--out", tiny.root], 2, "-k must be >= 1"),
        (["search", "shape", "-k", str(n + 1), "--out", tiny.root], 2, f"the index holds {n} chunks"),
        (["search", "shape", "--lang", "cobol", "--out", tiny.root], 2, "unknown language 'cobol'"),
        (["search", "shape", "--channel", "dense", "--out", tiny.root], 2, "unknown channel"),
        (["search", "shape", "--module", "nope", "--out", tiny.root], 1, "no chunk is in module 'nope'"),
    ):
        out = run_cli(*args)
        assert out.exit_code == code and text in " ".join(out.stderr.split()), (args, out.stderr)


def test_cli_prints_hits_people_can_read(tiny: DataRoot, run_cli) -> None:
    import json

    out = run_cli("search", "circle area", "-k", "3", "--lang", "python", "--out", tiny.root)
    assert out.exit_code == 0, out.stderr
    assert "hybrid (RRF k0=60, cutoff 10, over faiss + bm25)" in out.stdout
    assert "of 26 chunks match" in out.stdout and "faiss #" in out.stdout and "bm25 #" in out.stdout
    assert "tinylib/geometry/shapes.py:1-44" in out.stdout
    out = run_cli(
        "search", "circle area", "-k", "2", "--include", "rust/", "--content", "--json", "--out", tiny.root
    )
    hits = json.loads(out.stdout)
    assert [h["uri"] for h in hits] == ["rust/src/lib.rs"] and "pub trait Shape" in hits[0]["content"]
    assert hits[0]["language"] == "rust" and hits[0]["channel"] == "hybrid" and "source" not in hits[0]
    out = run_cli("search", "[/x] [link=http://x]", "-k", "1", "--out", tiny.root)
    assert out.exit_code == 0, out.stderr  # query text is never rich markup
    out = run_cli("search", "circle", "-k", "2", "--channel", "bm25", "--nl", "--out", tiny.root)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["rank"] for r in rows] == [1, 2] and rows[0]["channel_ranks"]["bm25"]["rank"] == 1


def test_a_hit_inside_a_long_definition_names_the_definition(tmp_path: Path, run_cli) -> None:
    import json

    from python_ext.ingest.chunk_ingest import ingest_repository

    repo = tmp_path / "repo"
    repo.mkdir()
    steps = "\n".join(f"        total = total + step_{i}(value)  # stage {i}" for i in range(60))
    (repo / "pipeline.py").write_text(
        "class Pipeline:\n    def run(self, value):\n        total = 0\n"
        + steps
        + "\n        return checksum_of_the_final_zebra(total)\n"
    )
    root = DataRoot(tmp_path / "data")
    ingest_repository(root, repo, embedder="hashing", chunk_budget=300)
    build_index(root, gpu="off")
    hit = Searcher(root).search("checksum_of_the_final_zebra", k=1, channel="bm25").hits[0]
    assert hit.chunk.symbols == [] and hit.chunk.start_line > 2  # the tail of run(), defining nothing
    assert hit.chunk.enclosing_symbol == "pipeline.Pipeline.run"
    assert hit.chunk.enclosing_name == "Pipeline.run"
    out = run_cli("search", "checksum_of_the_final_zebra", "-k", "1", "--channel", "bm25", "--out", root.root)
    assert out.exit_code == 0, out.stderr
    assert "in Pipeline.run " in out.stdout  # the module part (pipeline.) left out
    out = run_cli(
        "search", "checksum_of_the_final_zebra", "-k", "1", "--channel", "bm25", "--json", "--out", root.root
    )
    assert json.loads(out.stdout)[0]["enclosing_symbol"] == "pipeline.Pipeline.run"


def test_symbols_and_modules(tiny: DataRoot) -> None:
    searcher = Searcher(tiny)
    shape = searcher.query_by_symbols("Shape")
    roles = [(c.role, c.chunk.uri) for c in shape]
    assert ("defines", "tinylib/geometry/base.py") in roles and ("defines", "go/server.go") in roles
    assert ("references", "tinylib/geometry/shapes.py") in roles
    assert [r for r, _ in roles] == sorted(r for r, _ in roles)  # definitions first
    qualified = searcher.query_by_symbols("tinylib.geometry.base.Shape")
    assert {c.chunk.uri for c in qualified} == {"tinylib/geometry/base.py", "tinylib/geometry/shapes.py"}
    assert len(searcher.query_by_symbols(["Shape", "load_settings"], k=2)) == 2
    chunks = searcher.query_by_module("tinylib.geometry", limit=50)
    assert chunks and all(c.module_id.startswith("tinylib.geometry") for c in chunks)
    assert [(c.uri, c.start_line) for c in chunks] == sorted((c.uri, c.start_line) for c in chunks)
    assert len(searcher.query_by_module("tinylib", limit=2)) == 2
    with pytest.raises(NoMatchError):
        searcher.query_by_module("nope")


def test_scip_occurrences_give_references(data_root: DataRoot) -> None:
    shutil.copytree(
        _facts_root("pkgdemo", FIXTURES / "scip" / "pkgdemo", FIXTURES / "scip" / "pkgdemo.scip.json"),
        data_root.root,
    )
    build_index(data_root, gpu="off")
    searcher = Searcher(data_root)
    circle = [(c.role, c.chunk.uri) for c in searcher.query_by_symbols("Circle")]
    assert circle[0] == ("defines", "shapes/circle.py") and ("references", "report.py") in circle
    by_scip = searcher.query_by_symbols("scip-python python pkgdemo 0 `shapes.circle`/Circle#")
    assert [(c.role, c.chunk.uri) for c in by_scip] == circle
    hits = searcher.search("total area", 2, symbol="shapes.circle.Circle.area").hits
    assert {h.uri for h in hits} <= {"shapes/circle.py", "report.py"} and len(hits) == 2
    circle_chunk = searcher.query_by_symbols("Circle")[0].chunk
    assert "shapes.circle.Circle.area" in circle_chunk.symbol_names  # SCIP strings read as names


def _recall(found: list[list[int]], truth: list[list[int]]) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def test_exact_rerank_raises_the_recall_of_an_ivf_pq_index(data_root: DataRoot) -> None:
    x = write_synthetic_chunks(data_root, 3000, 32, seed=3)
    build_index(data_root, factory="IVF16,PQ8x4", gpu="off", bm25=False)
    queries = clustered_vectors(60, 32, seed=11)
    exact = Searcher(data_root, operating_point="nprobe=16")
    truth = [[h.chunk_id for h in exact.search("", 10, channel="flat", query_vector=q).hits] for q in queries]
    recalls = {}
    for kf in (1, 4, 16):
        s = Searcher(data_root, operating_point=f"nprobe=16,k_factor={kf}")
        assert s.state.loaded.k_factor == kf
        res = [s.search("", 10, channel="faiss", query_vector=q) for q in queries]
        recalls[kf] = _recall([[h.chunk_id for h in r.hits] for r in res], truth)
        assert ("refine" in res[0].timings) == (kf > 1)
    # measured: 0.22 → 0.53 → 0.90 (8 × 4-bit PQ codes alone rank the true neighbours poorly)
    assert recalls[1] < 0.5 and recalls[4] > recalls[1] + 0.2 and recalls[16] > recalls[4] + 0.1, recalls
    assert recalls[16] >= 0.85, recalls
    # re-ranked scores are the exact inner products with the stored vectors
    hit = s.search("", 1, channel="faiss", query_vector=queries[0]).hits[0]
    q = queries[0] / np.linalg.norm(queries[0])
    assert hit.score == pytest.approx(float(x[s.state.rows.rows_of([hit.chunk_id])[0][0]] @ q), rel=1e-5)


def test_tune_records_k_factor_for_a_code_based_index(data_root: DataRoot) -> None:
    from python_ext.index.load import load_index
    from python_ext.index.tune import tune_index

    write_synthetic_chunks(data_root, 3000, 32, seed=3)
    build = build_index(data_root, factory="IVF16,PQ8x4", gpu="off", bm25=False)
    assert build.manifest["operating_point"].endswith("k_factor=4")  # the untuned default
    result = tune_index(data_root, target_recall=0.85, k=10, n_queries=100, gpu="off")
    assert result.target_met and "k_factor=" in result.chosen.operating_point
    assert any("k_factor=" in p.operating_point for p in result.points if p.is_pareto)
    loaded = load_index(data_root)
    assert loaded.operating_point == result.chosen.operating_point and loaded.k_factor > 1
    assert loaded.manifest["tuning"]["k_factor"] == loaded.k_factor
    # an exact-scoring index never gets one: re-ranking exact scores cannot change the top k
    build_index(data_root, factory="IVF16,Flat", gpu="off", bm25=False)
    flat = tune_index(data_root, target_recall=0.85, k=10, n_queries=100, gpu="off")
    assert all("k_factor" not in p.operating_point for p in flat.points)


@pytest.mark.parametrize("factory", ["Flat", "HNSW8,Flat"])
def test_embeddings_by_ids_preserves_order(tiny: DataRoot, factory: str) -> None:
    build = build_index(tiny, factory=factory, gpu="off")
    assert (tiny.version_dir(build.version) / "vectors.npy").exists() == (factory != "Flat")
    table = chunkstore.read_chunks(tiny, ["id", "embedding"])
    ids = table.column("id").to_pylist()
    vectors = chunkstore.embeddings_to_numpy(table.column("embedding"))
    wanted = [ids[5], ids[0], ids[5], ids[-1]]
    expected = vectors[[5, 0, 5, len(ids) - 1]]
    assert np.array_equal(embeddings_by_ids(tiny, wanted), expected)
    assert np.array_equal(Searcher(tiny).embeddings_by_ids(wanted), expected)
    with pytest.raises(InputError, match=r"1 chunk id\(s\) are not in the index, e.g. \[7\]"):
        embeddings_by_ids(tiny, [ids[0], 7])


def test_a_version_answers_with_the_chunks_it_was_built_on(tiny: DataRoot, tmp_path: Path) -> None:
    from python_ext.ingest.chunk_ingest import ingest_repository

    searcher = Searcher(tiny)
    before = searcher.search("greet the user", 3, content=True)
    assert all(h.chunk.content for h in before.hits)
    repo = tmp_path / "other"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "mod.py").write_text("def greet(user):\n    return 'hi ' + user\n")
    ingest_repository(tiny, repo, embedder="hashing")  # the chunk files now hold another repository
    old = Searcher(tiny)  # still the published version built on tiny_repo
    again = old.search("greet the user", 3, content=True)
    assert [(h.chunk_id, h.location) for h in again.hits] == [(h.chunk_id, h.location) for h in before.hits]
    assert all(h.chunk.content is None and h.chunk.content_changed for h in again.hits)


def test_refresh_switches_atomically_and_keeps_serving_on_failure(tiny: DataRoot) -> None:
    searcher = Searcher(tiny)
    first = searcher.state
    assert searcher.refresh() is False and searcher.state is first
    newer = build_index(tiny, factory="HNSW8,Flat", gpu="off").version
    result_before = searcher.search("shape", 3)
    assert searcher.refresh() is True and searcher.state.version == newer and searcher.reloads == 1
    assert result_before.version == first.version  # answered wholly from the old state
    assert searcher.search("shape", 3).version == newer
    # a newer version whose files were tampered with: refresh raises, the current state serves on
    broken = build_index(tiny, factory="HNSW8,Flat", gpu="off").version
    (tiny.version_dir(broken) / "vectors.npy").write_bytes(b"tampered")
    with pytest.raises(IndexMismatchError):
        searcher.refresh()
    assert searcher.state.version == newer and searcher.search("shape", 2).version == newer


def test_missing_bm25_and_precomputed_vectors_are_explained(tiny: DataRoot, data_root: DataRoot) -> None:
    build_index(tiny, gpu="off", bm25=False)
    searcher = Searcher(tiny)
    for channel in ("bm25", "hybrid"):
        with pytest.raises(IndexMismatchError, match="has no BM25 index") as err:
            searcher.search("shape", 3, channel=channel)
        assert "rebuild with `indexctl index build`" in err.value.hint
    assert searcher.search("shape", 3, channel="faiss").hits

    pre = DataRoot(data_root.root.parent / "pre")
    x = clustered_vectors(200, 16, seed=2)
    info = EmbeddingInfo(model="producer-x", dim=16, normalized=True, kind="precomputed")
    contents = [f"def handler_{i}(request):\n    return parse_header(request, {i})\n" for i in range(200)]
    table = chunk_table(x, info, contents=contents)
    chunkstore.replace_chunk_set(pre, table)
    build_index(pre, gpu="off")
    searcher = Searcher(pre)
    with pytest.raises(ConfigError, match="need the producer's query vectors") as err:
        searcher.search("parse header", 3)
    assert "--channel bm25" in err.value.hint
    assert len(searcher.search("parse header", 3, channel="bm25").hits) == 3  # BM25 still works
    hits = searcher.search("", 3, channel="faiss", query_vector=x[7]).hits
    assert hits[0].chunk.uri == table.column("uri")[7].as_py()  # the chunk whose vector x[7] is
    with pytest.raises(UsageError, match="the query vector has 3 dimensions, the index 16"):
        searcher.search("", 3, channel="faiss", query_vector=[1.0, 2.0, 3.0])


def test_eval_run_measures_exactly_what_search_returns(tiny: DataRoot) -> None:
    from python_ext.evaluate.pools import read_pool
    from python_ext.evaluate.queries import build_queries, read_queries
    from python_ext.evaluate.run import run_eval

    build_queries(tiny)
    run = run_eval(tiny, k=5)
    pool = read_pool(tiny, run.run_id).to_pylist()
    searcher = Searcher(tiny)
    plain = [q for q in read_queries(tiny) if q.origin != "docstring"]  # unmasked view = the index
    assert plain
    for q in plain[:8]:
        for channel in ("hybrid", "faiss", "bm25"):
            ranked = sorted(
                (r["rank"], r["chunk_id"])
                for r in pool
                if r["query_id"] == q.query_id and r["source"] == channel
            )
            got = [h.chunk_id for h in searcher.search(q.text, 5, channel=channel).hits]
            assert [c for _, c in ranked][:5] == got, (q.text, channel)
