"""Catalog benchmark on a synthetic 1M-chunk data root (figures, not a test).

Measures, in one run on one machine:

1. ``indexctl catalog refresh --full-refresh`` wall time (dbt build of every model and test
   into a new file, atomic swap) — target ≤ 60 s;
2. a second refresh with the id map unchanged: faiss_idmap_mat must be a no-op (proved by a
   table comment that only survives if the table is not rewritten);
3. hydration of 200 random ids: p50 warm (cached read-only connection) and cold (a new
   connection per call) for :func:`python_ext.catalog.hydrate.hydrate`, side by side with the
   naive ``SELECT … FROM read_parquet('vectors/chunks/*.parquet') WHERE id IN (…)``, as ratios.

    python bench/catalog.py --root /tmp/catalog-bench --chunks 1000000 --dim 384
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_catalog_data import generate

from python_ext.catalog.hydrate import close_connections, hydrate
from python_ext.catalog.refresh import refresh_catalog
from python_ext.config import DataRoot

COLS = "id, uri, start_line, end_line, start_byte, end_byte, lang, content_hash, preview, content"


def _p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/catalog-bench"))
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--regen", action="store_true", help="regenerate the data root")
    parser.add_argument("--trials", type=int, default=41)
    parser.add_argument("--skip-build", action="store_true", help="reuse the existing catalog")
    args = parser.parse_args()
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")

    root = DataRoot(args.root / "data")
    if args.regen or not root.chunks_dir.is_dir():
        figures = generate(root.root, args.chunks, args.dim)
        print(f"generated {args.chunks} chunks d={args.dim} in {figures['total_s']:.1f} s")
    db = root.db_path
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")

    if not args.skip_build:
        t = time.perf_counter()
        result = refresh_catalog(root, db_path=db, full_refresh=True)
        build_s = time.perf_counter() - t
        print(
            f"full refresh (dbt build, {result.models} models, {result.tests_passed} tests, swap): "
            f"{build_s:.1f} s; faiss_idmap_mat {result.faiss_idmap_mat}; "
            f"catalog {db.stat().st_size / 2**30:.2f} GiB"
        )
        print(f"  slowest nodes: {', '.join(f'{n} {t:.1f}s' for n, t in result.slowest)}")
        con = duckdb.connect(str(db))
        con.execute("comment on table faiss_idmap_mat is 'bench marker'")
        con.close()
        t = time.perf_counter()
        again = refresh_catalog(root, db_path=db)
        again_s = time.perf_counter() - t
        kept = (
            duckdb.connect(str(db), read_only=True)
            .execute("select comment from duckdb_tables() where table_name = 'faiss_idmap_mat'")
            .fetchone()[0]
        )
        print(
            f"unchanged-id-map refresh: {again_s:.1f} s; faiss_idmap_mat {again.faiss_idmap_mat}; "
            f"table carried over, not rebuilt: {kept == 'bench marker'}; "
            f"catalog {db.stat().st_size / 2**30:.2f} GiB"
        )
        print(f"  slowest nodes: {', '.join(f'{n} {t:.1f}s' for n, t in again.slowest)}")
        print(f"load average after builds: {os.getloadavg()[0]:.2f}")

    con = duckdb.connect(str(db), read_only=True)
    all_ids = [r[0] for r in con.execute("select chunk_id from v_chunk_min using sample 20000").fetchall()]
    con.close()
    rng = random.Random(1)
    batches = [rng.sample(all_ids, 200) for _ in range(args.trials)]

    close_connections()
    hydrate(batches[0], db_path=db)  # open + warm the cached connection
    warm = []
    for ids in batches:
        t = time.perf_counter()
        rows = hydrate(ids, db_path=db)
        warm.append(time.perf_counter() - t)
        assert len(rows) == 200
    cold = []
    for ids in batches[:15]:
        close_connections()
        t = time.perf_counter()
        hydrate(ids, db_path=db)
        cold.append(time.perf_counter() - t)
    close_connections()

    pattern = str(root.chunks_dir / "*.parquet")
    naive_sql = f"select {COLS} from read_parquet(?) where id in (select unnest(?::bigint[]))"
    naive_con = duckdb.connect()
    naive_con.execute(naive_sql, [pattern, batches[0]]).fetchall()
    naive_warm = []
    for ids in batches[:15]:
        t = time.perf_counter()
        rows = naive_con.execute(naive_sql, [pattern, ids]).fetchall()
        naive_warm.append(time.perf_counter() - t)
        assert len(rows) == 200
    naive_con.close()
    naive_cold = []
    for ids in batches[:7]:
        t = time.perf_counter()
        c = duckdb.connect()
        c.execute(naive_sql, [pattern, ids]).fetchall()
        c.close()
        naive_cold.append(time.perf_counter() - t)

    print(f"hydrate 200 ids  warm p50 {_p50(warm):7.2f} ms   cold p50 {_p50(cold):7.2f} ms")
    print(f"naive read_parquet warm p50 {_p50(naive_warm):7.2f} ms   cold p50 {_p50(naive_cold):7.2f} ms")
    ratio_warm = _p50(naive_warm) / _p50(warm)
    ratio_cold = _p50(naive_cold) / _p50(cold)
    print(f"ratio naive/hydrate: warm {ratio_warm:.1f}x, cold {ratio_cold:.1f}x")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
