"""Search latency benchmark: warm per-channel latency, first-query cost, server QPS, one-shot vs warm.

On a real repository ingested with the real pipeline (ingest with facts → index build → tune →
eval queries for realistic query texts), measured side by side in one run:

1. **first query** of a fresh process (``python -c`` that imports, builds a ``Searcher`` and
   searches twice): import, load, first search (the model's first call) and second search;
2. **warm latency per channel** in this process: p50 / p95 / mean over the query texts for
   ``hybrid`` (the default), ``faiss``, ``bm25``, ``flat`` and filtered ``hybrid`` (language,
   glob), plus the p50 of each stage;
3. **server QPS** of ``indexctl serve`` (a real subprocess on 127.0.0.1) with 1, 4 and 16
   concurrent HTTP clients (``httpx``), each sending hybrid searches for ``--seconds``;
4. **one-shot vs warm**: the per-query wall time of the old path — one ``indexctl search``
   process per query — against the warm searcher, as a ratio (and the in-process one-shot
   ``search_text``, which loads the version on every call, without interpreter start).

Usage::

    python bench/search.py                              # this checkout, MiniLM (what users get)
    python bench/search.py --embedder hashing           # the fast lexical embedder
    python bench/search.py /path/to/repo --data-root /tmp/bench-search --queries 300
    python bench/search.py --reuse                      # skip ingest/build when the data root exists

Every figure depends on the machine and its load: the load average is printed at start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    i = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[i]


def prepare(args: argparse.Namespace) -> Path:
    from python_ext.config import DataRoot
    from python_ext.evaluate.queries import build_queries
    from python_ext.facts.builder import ingest_with_facts
    from python_ext.index.build import build_index
    from python_ext.index.tune import tune_index

    root = DataRoot(args.data_root)
    if args.reuse and root.current_file.exists() and root.queries_path.exists():
        print(f"reusing {root.root}", flush=True)
        return root.root
    t0 = time.perf_counter()
    summary = ingest_with_facts(root, args.repo, embedder=args.embedder)
    t1 = time.perf_counter()
    build = build_index(root, factory=args.factory)
    tune_index(root, k=10, queries="sample")
    t2 = time.perf_counter()
    queries = build_queries(root, max_per_origin=args.queries)
    print(
        f"prepared {root.root}: {summary.chunks} chunks ({args.embedder}), ingest {t1 - t0:.1f}s, "
        f"index {build.manifest['factory']} build+tune {t2 - t1:.1f}s, {queries.total} queries",
        flush=True,
    )
    return root.root


def query_texts(data_root: Path, n: int) -> list[str]:
    from python_ext.config import DataRoot
    from python_ext.evaluate.queries import read_queries

    texts = [q.text for q in read_queries(DataRoot(data_root))]
    # interleave origins (docstring sentences, identifier names) deterministically
    return texts[:: max(1, len(texts) // n)][:n] if texts else ["parse the configuration file"]


FIRST_QUERY = r"""
import json, sys, time
t0 = time.perf_counter()
from python_ext.search import Searcher
t1 = time.perf_counter()
s = Searcher(sys.argv[1], embed_threads=1)
t2 = time.perf_counter()
s.search(sys.argv[2], 10)
t3 = time.perf_counter()
s.search(sys.argv[3], 10)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "first": t3 - t2, "second": t4 - t3}))
"""


def first_query(data_root: Path, texts: list[str], repeats: int) -> dict[str, float]:
    runs = []
    for i in range(repeats):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                FIRST_QUERY,
                str(data_root),
                texts[i % len(texts)],
                texts[(i + 1) % len(texts)],
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def warm_latency(data_root: Path, texts: list[str]) -> tuple[object, list[tuple[str, dict]]]:
    from python_ext.search import Searcher

    searcher = Searcher(data_root, warm=True, embed_threads=1)  # as indexctl search/serve
    langs = searcher.state.meta.language_counts()
    top_lang = max(langs, key=langs.get)
    cases = [
        ("hybrid", {}),
        ("faiss", {"channel": "faiss"}),
        ("bm25", {"channel": "bm25"}),
        ("flat", {"channel": "flat"}),
        (f"hybrid --lang {top_lang}", {"lang": top_lang}),
        ("hybrid --exclude '*.md'", {"exclude": "*.md"}),
    ]
    default_threads = None
    torch = sys.modules.get("torch")
    if torch is not None:  # the same hybrid search with torch's default intra-op threads, last
        default_threads = os.cpu_count() or 1
        cases.append((f"hybrid, torch threads={default_threads}", {}))
    rows = []
    for label, options in cases:
        if default_threads and label.startswith("hybrid, torch threads="):
            torch.set_num_threads(default_threads)
        for text in texts[:5]:  # untimed: warm every path (first bm25 / flat call, caches)
            searcher.search(text, 10, **options)
        totals, stages = [], {}
        for text in texts:
            result = searcher.search(text, 10, **options)
            totals.append(result.timings["total"] * 1000)
            for stage, sec in result.timings.items():
                stages.setdefault(stage, []).append(sec * 1000)
        rows.append(
            (
                label,
                {
                    "p50": pct(totals, 50),
                    "p95": pct(totals, 95),
                    "mean": statistics.fmean(totals),
                    "stages": {s: pct(v, 50) for s, v in stages.items() if s != "total"},
                },
            )
        )
    if default_threads:
        torch.set_num_threads(1)
    return searcher, rows


def server_qps(
    data_root: Path, texts: list[str], concurrency: list[int], seconds: float
) -> list[tuple[int, dict]]:
    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "python_ext", "serve", "--port", "0", "--data-root", str(data_root)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        line = ""
        while "http://" not in line:
            if proc.poll() is not None:
                raise SystemExit(f"indexctl serve exited: {proc.stderr.read()}")
            line = proc.stderr.readline()
        url = line.split(" on ", 1)[1].split()[0]
        for _ in range(600):
            try:
                httpx.get(f"{url}/health", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(base_url=url, timeout=60) as client:  # warm the server's paths
            for text in texts[:10]:
                client.get("/search", params={"q": text, "k": 10}).raise_for_status()
        rows = []
        for clients in concurrency:
            latencies: list[float] = []
            errors = [0]
            lock = threading.Lock()
            stop_at = time.perf_counter() + seconds

            def work(
                offset: int,
                stop_at: float = stop_at,
                latencies: list[float] = latencies,
                errors: list[int] = errors,
                lock: threading.Lock = lock,
                clients: int = clients,
            ) -> None:
                i = offset
                with httpx.Client(base_url=url, timeout=60) as client:
                    while time.perf_counter() < stop_at:
                        t0 = time.perf_counter()
                        r = client.get("/search", params={"q": texts[i % len(texts)], "k": 10})
                        dt = time.perf_counter() - t0
                        with lock:
                            if r.status_code == 200:
                                latencies.append(dt * 1000)
                            else:
                                errors[0] += 1
                        i += clients

            t0 = time.perf_counter()
            threads = [threading.Thread(target=work, args=(c,)) for c in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            rows.append(
                (
                    clients,
                    {
                        "qps": len(latencies) / wall,
                        "requests": len(latencies),
                        "errors": errors[0],
                        "p50": pct(latencies, 50),
                        "p95": pct(latencies, 95),
                    },
                )
            )
        return rows
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def one_shot(data_root: Path, texts: list[str], n: int) -> dict[str, float]:
    """Seconds per query of one ``indexctl search`` process per query, and of ``search_text``."""
    from python_ext.search import search_text

    cli = []
    for text in texts[:n]:
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "python_ext",
                "search",
                text,
                "-k",
                "10",
                "--json",
                "--data-root",
                str(data_root),
            ],
            capture_output=True,
            check=True,
            cwd=ROOT,
        )
        cli.append(time.perf_counter() - t0)
    in_process = []
    for text in texts[:n]:
        t0 = time.perf_counter()
        search_text(data_root, text, 10)
        in_process.append(time.perf_counter() - t0)
    return {"cli": statistics.median(cli), "search_text": statistics.median(in_process)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "repo", nargs="?", type=Path, default=ROOT, help="repository (default: this checkout)"
    )
    parser.add_argument("--data-root", type=Path, default=Path("bench/out/search-data"))
    parser.add_argument("--embedder", default="minilm", choices=("hashing", "minilm"))
    parser.add_argument("--factory", default="auto")
    parser.add_argument("--queries", type=int, default=200, help="query texts for the warm latency")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per server concurrency level")
    parser.add_argument("--clients", default="1,4,16", help="server concurrency levels")
    parser.add_argument("--first-runs", type=int, default=3, help="fresh processes for the first-query cost")
    parser.add_argument("--one-shot", type=int, default=5, help="one-shot CLI queries")
    parser.add_argument("--reuse", action="store_true", help="reuse a prepared --data-root")
    args = parser.parse_args(argv)

    print(f"load average at start: {os.getloadavg()} (cores: {os.cpu_count()})", flush=True)
    data_root = prepare(args)
    texts = query_texts(data_root, args.queries)

    first = first_query(data_root, texts, args.first_runs)
    searcher, warm = warm_latency(data_root, texts)
    state = searcher.state
    print(
        f"\nversion {state.version}: {state.ntotal:,} chunks, factory {state.manifest['factory']}, "
        f"op '{state.loaded.operating_point}', k_factor {state.loaded.k_factor}, "
        f"embedder {state.manifest['embedding_model']}; {len(texts)} queries, k=10"
    )
    print(f"\n(1) first query of a fresh process (median of {args.first_runs}):")
    print(
        f"  import {first['import'] * 1000:.0f} ms, load {first['load'] * 1000:.0f} ms, first search "
        f"{first['first'] * 1000:.0f} ms, second search {first['second'] * 1000:.1f} ms -> first/second "
        f"{first['first'] / first['second']:.0f}x; load+first vs a warm query "
        f"{(first['load'] + first['first']) / (warm[0][1]['p50'] / 1000):.0f}x"
    )
    print("\n(2) warm latency in one process (ms):")
    print(f"  {'channel':<28}{'p50':>8}{'p95':>8}{'mean':>8}   stage p50s")
    for label, row in warm:
        stages = " ".join(f"{s}={v:.2f}" for s, v in row["stages"].items())
        print(f"  {label:<28}{row['p50']:>8.2f}{row['p95']:>8.2f}{row['mean']:>8.2f}   {stages}")

    clients = [int(c) for c in args.clients.split(",") if c]
    qps = server_qps(data_root, texts, clients, args.seconds)
    print(f"\n(3) indexctl serve, hybrid searches over HTTP, {args.seconds:.0f}s per level:")
    print(f"  {'clients':>8}{'QPS':>9}{'p50 ms':>9}{'p95 ms':>9}{'requests':>10}{'errors':>8}")
    for n, row in qps:
        cells = f"{row['qps']:>9.1f}{row['p50']:>9.2f}{row['p95']:>9.2f}"
        print(f"  {n:>8}{cells}{row['requests']:>10}{row['errors']:>8}")
    shots = one_shot(data_root, texts, args.one_shot)
    warm_s = warm[0][1]["p50"] / 1000
    print(f"\n(4) per-query cost, hybrid (median of {args.one_shot}):")
    print(
        f"  one indexctl search process per query: {shots['cli'] * 1000:.0f} ms; in-process one-shot "
        f"search_text: {shots['search_text'] * 1000:.0f} ms; warm Searcher: {warm_s * 1000:.2f} ms"
    )
    print(
        f"  ratio one-shot CLI / warm: {shots['cli'] / warm_s:.0f}x; search_text / warm: "
        f"{shots['search_text'] / warm_s:.0f}x"
    )
    print(f"\nload average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
