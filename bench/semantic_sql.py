"""Semantic SQL and the report on the synthetic 1M-chunk catalog (figures, not a test).

Run after ``bench/catalog.py`` built the catalog (same ``--root``). Measures, in one run:

1. ``similar_chunks(chunk_id, 10)`` (a macro stored in the catalog; a full exact scan of
   ``v_chunks``) and ``nearest_chunks(embed(text), 10)`` / ``order by array_inner_product(
   embedding, embed(text)) desc limit 10`` with ``embed`` = MiniLM (the catalog's vectors are
   synthetic 384-d, so the model's query vectors are as far from them as any; what is measured
   is the cost, and the ranking against exact FAISS Flat over the same vectors);
2. the same queries with FAISS ``IndexFlatIP`` over the same 1M vectors in memory (what the
   SQL is compared with, side by side, as a ratio), and whether both return the same top 10;
3. ``near_duplicates(0.9, uri_like)`` on two scopes (500 and 5,000 chunks) with its pairs/s,
   and how long the whole-catalog call takes to refuse (the max_pairs guard);
4. ``build_report`` on the 1M catalog: seconds and size.

    python bench/semantic_sql.py --root /tmp/catalog-bench
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import duckdb
import numpy as np

from python_ext.catalog.semantic import register_semantic_functions
from python_ext.config import DataRoot

TEXTS = [
    "parse the auth header",
    "open a file and read its lines",
    "retry a request with exponential backoff",
    "compute the checksum of a buffer",
    "format a timestamp as ISO 8601",
]


def _ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _same(got: list[tuple[int, float]], labels: np.ndarray, scores: np.ndarray) -> bool:
    """SQL (id, score) rows equal FAISS's ranking: equal scores rank by rank (1e-5) and equal
    ids, except that chunks of exactly equal score may come in either order."""
    want = [(int(i), float(s)) for i, s in zip(labels, scores, strict=True) if i >= 0][: len(got)]
    if len(want) != len(got) or any(abs(a[1] - b[1]) > 1e-5 for a, b in zip(got, want, strict=True)):
        return False
    by_score: dict[float, tuple[set[int], set[int]]] = {}
    for (a, score), (b, _) in zip(got, want, strict=True):
        pair = by_score.setdefault(round(score, 5), (set(), set()))
        pair[0].add(a)
        pair[1].add(b)
    tail = round(want[-1][1], 5) if want else None
    return all(x == y for score, (x, y) in by_score.items() if score != tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/catalog-bench"))
    parser.add_argument("--embedder", default="minilm", help="query embedder (minilm or hashing)")
    args = parser.parse_args()
    root = DataRoot(args.root / "data")
    db = root.db_path
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")

    from python_ext.embed import get_embedder

    con = duckdb.connect(":memory:")
    con.execute("attach ? as codeintel (read_only)", [str(db)])
    con.execute("use codeintel")
    n = con.execute("select count(*) from v_chunks").fetchone()[0]
    d = con.execute("select max(embedding_dim) from v_chunks").fetchone()[0]
    embedder = get_embedder(args.embedder if args.embedder != "hashing" else f"hashing-v1-d{d}")
    register_semantic_functions(con, embedder=embedder)
    print(
        f"catalog: {n:,} chunks, d={d}, {db.stat().st_size / 2**30:.2f} GiB; query embedder {embedder.name}"
    )

    t = time.perf_counter()
    table = con.sql("select chunk_id, embedding from v_chunks order by chunk_id").to_arrow_table()
    ids = table.column("chunk_id").to_numpy()
    flat_values = table.column("embedding").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    matrix = np.ascontiguousarray(flat_values.reshape(len(ids), d), dtype=np.float32)
    import faiss

    index = faiss.IndexIDMap2(faiss.IndexFlatIP(d))
    index.add_with_ids(matrix, ids.astype(np.int64))
    print(f"FAISS IndexFlatIP over the same vectors: loaded and added in {time.perf_counter() - t:.1f} s")
    del table, flat_values

    rng = np.random.default_rng(3)
    probes = [int(ids[i]) for i in rng.choice(len(ids), 5, replace=False)]
    positions = {c: int(np.nonzero(ids == c)[0][0]) for c in probes}

    sql_similar, faiss_similar, same_similar = [], [], 0
    for cid in probes:
        t = time.perf_counter()
        got = con.execute(
            "select chunk_id, similarity from similar_chunks(?, 10) order by rank", [cid]
        ).fetchall()
        sql_similar.append(time.perf_counter() - t)
        t = time.perf_counter()
        scores, labels = index.search(matrix[positions[cid] : positions[cid] + 1], 11)
        faiss_similar.append(time.perf_counter() - t)
        keep = labels[0] != cid
        same_similar += _same(got, labels[0][keep], scores[0][keep])
    print(
        f"similar_chunks(id, 10)        p50 {_ms(sql_similar):8.1f} ms   "
        f"FAISS Flat p50 {_ms(faiss_similar):7.1f} ms"
        f"   ratio {_ms(sql_similar) / _ms(faiss_similar):5.1f}x   same top 10: {same_similar}/{len(probes)}"
    )

    for label, sql in (
        (
            "nearest_chunks(embed(t), 10)",
            "select chunk_id, similarity from nearest_chunks(embed(?), 10) order by rank",
        ),
        (
            "order by ip(embed(t)) limit 10",
            "select chunk_id, array_inner_product(embedding, embed(?)) as s from v_chunks "
            "order by s desc, chunk_id limit 10",
        ),
    ):
        sql_t, embed_t, faiss_t, same = [], [], [], 0
        for text in TEXTS:
            t = time.perf_counter()
            got = con.execute(sql, [text]).fetchall()
            sql_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            q = embedder.embed([text])
            embed_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            scores, labels = index.search(q, 10)
            faiss_t.append(time.perf_counter() - t)
            same += _same(got, labels[0], scores[0])
        print(
            f"{label:30s} p50 {_ms(sql_t):8.1f} ms   (embedding alone {_ms(embed_t):.1f} ms)   FAISS Flat "
            f"p50 {_ms(faiss_t):7.1f} ms   ratio {_ms(sql_t) / (_ms(faiss_t) + _ms(embed_t)):5.1f}x vs "
            f"embed+FAISS   same top 10: {same}/{len(TEXTS)}"
        )

    for scope in ("dir7/sub3/%", "dir7/%"):
        m = con.execute("select count(*) from v_chunks where uri like ?", [scope]).fetchone()[0]
        t = time.perf_counter()
        pairs = con.execute(
            "select count(*) from near_duplicates(0.9, uri_like := ?, max_pairs := 100000000)", [scope]
        ).fetchone()[0]
        dt = time.perf_counter() - t
        compared = m * (m - 1) // 2
        print(
            f"near_duplicates(0.9, {scope!r:14s}) {m:6,} chunks, {compared:12,} pairs in {dt:7.2f} s "
            f"= {compared / dt / 1e6:5.2f} M pairs/s; {pairs} pairs >= 0.9"
        )
    t = time.perf_counter()
    try:
        con.execute("select count(*) from near_duplicates(0.9)").fetchone()
        refused = "not refused"
    except duckdb.InvalidInputException as exc:
        refused = str(exc).split("Error: ", 1)[-1][:200]
    print(
        f"near_duplicates(0.9) over all {n:,} chunks: refused in {time.perf_counter() - t:.2f} s: {refused}"
    )
    con.close()
    del index, matrix

    from python_ext.report.build import build_report

    out = args.root / "report.html"
    t = time.perf_counter()
    report = build_report(root, db_path=db, out=out)
    print(
        f"build_report: {time.perf_counter() - t:.1f} s, {report.bytes / 2**20:.1f} MiB, figures "
        f"{', '.join(report.figures)}; empty {report.empty or 'none'}; "
        f"{report.chunks_measured} chunks measured"
    )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
