"""Benchmark: SCIP import throughput and peak memory, streaming vs full load; whole-repo facts.

Usage::

    python bench/scip.py                       # networkx from the venv (index cached in bench/out/)
    python bench/scip.py --package rich        # another installed pure-Python package
    python bench/scip.py --index X.scip --repo DIR

What it measures (each approach runs in its own fresh subprocess, so peak RSS is comparable):

* ``stream-binary`` — :func:`python_ext.facts.scip.importer.import_scip` on ``index.scip``
  (field-by-field read, one document in memory, row-group writes).
* ``full-binary`` — the naive peer: read the whole file, one ``Index.ParseFromString``, convert
  every document into one in-memory table, write it.
* ``stream-json`` / ``full-json`` — the same for the ``scip print --json`` form (``json.load`` of the
  whole file for the naive peer). The JSON file is produced once from the binary index.
* ``facts`` — :func:`python_ext.facts.builder.extract_facts` over the package with the index
  (SCIP import + modules + symbol graph), and without SCIP (tree-sitter only).
* ``x N`` — the binary index concatenated N times (``--scale``, default 4): protobuf merges
  concatenated messages, so it is a valid index N times larger; streaming memory stays flat.
* ``ingest-scip`` — the whole ``indexctl ingest --scip`` (hashing embedder): chunks + every fact,
  and how many definition occurrences fall inside a chunk of their file.

Peak memory is ``ru_maxrss`` of the worker minus that of a worker that only imports the modules
(the interpreter + pyarrow baseline, printed too). Figures are printed as a table and ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(ROOT))


def _site_packages() -> Path:
    import sysconfig

    return Path(sysconfig.get_paths()["purelib"])


# --- workers (run in subprocesses) ----------------------------------------------------------


def _worker(approach: str, index: str, repo: str) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from python_ext.config import DataRoot
    from python_ext.contracts import SCIP_OCCURRENCES_SCHEMA
    from python_ext.facts.builder import extract_facts
    from python_ext.facts.scip.decode import Document, document_from_message, parse_scip_binary_full
    from python_ext.facts.scip.importer import import_scip, occurrence_rows
    from python_ext.facts.scip.json_reader import document_from_json

    tmp = Path(tempfile.mkdtemp(prefix="bench-scip-"))
    root = DataRoot(tmp / "data")
    started = time.perf_counter()
    occurrences = 0
    extra: dict = {}
    try:
        if approach == "baseline":
            pass
        elif approach.startswith("stream-"):
            occurrences = import_scip(root, index).occurrences
        elif approach.startswith("full-"):
            if approach == "full-binary":
                msg = parse_scip_binary_full(Path(index).read_bytes())
                docs = [document_from_message(d, f"documents[{i}]") for i, d in enumerate(msg.documents)]
            else:
                with open(index, encoding="utf-8") as fh:
                    data = json.load(fh)
                docs = [
                    document_from_json(d, f"documents[{i}]", Path(index))
                    for i, d in enumerate(data["documents"])
                ]
            columns: dict[str, list] = {name: [] for name in SCIP_OCCURRENCES_SCHEMA.names}
            for doc in docs:
                assert isinstance(doc, Document)
                cols, _ = occurrence_rows(doc, Path(index), None)
                for name in columns:
                    columns[name].extend(cols[name])
            table = pa.table(columns, schema=SCIP_OCCURRENCES_SCHEMA)
            root.scip_occurrences_path.parent.mkdir(parents=True)
            pq.write_table(table, root.scip_occurrences_path, compression="zstd")
            occurrences = table.num_rows
        elif approach == "facts-scip":
            result = extract_facts(root, repo, scip=index)
            occurrences = result.scip["occurrences"] if result.scip else 0
        elif approach == "facts-tree-sitter":
            extract_facts(root, repo)
        elif approach == "ingest-scip":
            import duckdb

            from python_ext.facts.builder import ingest_with_facts

            summary = ingest_with_facts(root, repo, scip=index, embedder="hashing")
            seconds = time.perf_counter() - started
            occurrences = summary.facts["scip"]["occurrences"]
            params = {
                "occ": str(root.scip_occurrences_path),
                "chunks": str(root.chunks_dir / "*.parquet"),
            }
            covered, total = duckdb.execute(
                """select count(*) filter (where exists (
                       select 1 from read_parquet($chunks) c where c.uri = o.uri
                       and o.start_line >= c.start_line and o.end_line <= c.end_line)), count(*)
                   from read_parquet($occ) o where o.role_bits & 1 = 1""",
                params,
            ).fetchone()
            extra = {"chunks": summary.chunks, "defs_in_a_chunk": f"{covered}/{total}"}
        else:
            raise SystemExit(f"unknown approach {approach}")
        if approach != "ingest-scip":
            seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "approach": approach,
        "seconds": round(seconds, 3),
        "occurrences": occurrences,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **extra,
    }


def _run_worker(approach: str, index: Path, repo: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", approach, "--index", str(index), "--repo", str(repo)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"worker {approach} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- preparation ----------------------------------------------------------------------------


def _ensure_index(package: str) -> tuple[Path, Path, float | None]:
    from python_ext.facts.scip.indexer import run_scip_python

    repo = _site_packages() / package
    if not repo.is_dir():
        raise SystemExit(f"package folder not found: {repo}")
    OUT.mkdir(parents=True, exist_ok=True)
    index = OUT / f"{package}.scip"
    seconds = None
    if not index.is_file():
        print(f"indexing {repo} with scip-python (cached at {index}) ...", file=sys.stderr)
        seconds = run_scip_python(repo, index, project_name=package).seconds
    return index, repo, seconds


def _ensure_json(index: Path) -> Path:
    from google.protobuf.json_format import MessageToDict

    from python_ext.facts.scip.decode import parse_scip_binary_full

    target = index.with_suffix(".scip.json")
    if not target.is_file() or target.stat().st_mtime < index.stat().st_mtime:
        data = MessageToDict(parse_scip_binary_full(index.read_bytes()), preserving_proto_field_name=True)
        target.write_text(json.dumps(data), encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="networkx", help="installed package to index (default networkx)")
    parser.add_argument("--index", type=Path, help="an existing index.scip (skips scip-python)")
    parser.add_argument("--repo", type=Path, help="the indexed sources (with --index)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--skip-json", action="store_true", help="do not benchmark the JSON form")
    parser.add_argument(
        "--scale",
        type=int,
        default=4,
        help="also import the index concatenated N times (a valid, N-times larger index) to show that "
        "streaming memory stays flat (default 4; 0 = skip)",
    )
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, str(args.index), str(args.repo))))
        return
    index_seconds = None
    if args.index:
        index, repo = args.index, args.repo or Path(".")
    else:
        index, repo, index_seconds = _ensure_index(args.package)
    print(f"index: {index} ({index.stat().st_size / 1e6:.1f} MB); sources: {repo}")
    if index_seconds is not None:
        print(f"scip-python indexing time: {index_seconds:.1f} s")
    baseline = _run_worker("baseline", index, repo)
    runs = [_run_worker(a, index, repo) for a in ("stream-binary", "full-binary")]
    if not args.skip_json:
        json_index = _ensure_json(index)
        print(f"json: {json_index} ({json_index.stat().st_size / 1e6:.1f} MB)")
        runs += [_run_worker(a, json_index, repo) for a in ("stream-json", "full-json")]
    runs += [_run_worker(a, index, repo) for a in ("facts-scip", "facts-tree-sitter", "ingest-scip")]
    if args.scale > 1:
        # concatenated protobuf messages merge: N copies form one valid index with N x the documents
        scaled = OUT / f"{index.stem}_x{args.scale}.scip"
        if not scaled.is_file() or scaled.stat().st_size != index.stat().st_size * args.scale:
            data = index.read_bytes()
            with open(scaled, "wb") as fh:
                for _ in range(args.scale):
                    fh.write(data)
        print(f"scaled: {scaled} ({scaled.stat().st_size / 1e6:.1f} MB)")
        for approach in ("stream-binary", "full-binary"):
            run = _run_worker(approach, scaled, repo)
            run["approach"] = f"{approach} x{args.scale}"
            runs.append(run)
    base = baseline["max_rss_mb"]
    print(f"\nbaseline RSS (interpreter + imports): {base} MB\n")
    print(f"{'approach':<20}{'seconds':>10}{'occurrences':>14}{'occ/s':>12}{'peak RSS-base MB':>19}")
    by = {}
    for run in runs:
        rate = run["occurrences"] / run["seconds"] if run["occurrences"] else 0
        extra = run["max_rss_mb"] - base
        by[run["approach"]] = (run["seconds"], extra)
        print(
            f"{run['approach']:<20}{run['seconds']:>10.2f}{run['occurrences']:>14,}{rate:>12,.0f}{extra:>19.1f}"
        )
    print()
    ingest = next((r for r in runs if r["approach"] == "ingest-scip"), None)
    if ingest:
        print(
            f"ingest --scip: {ingest['chunks']} chunks; definition occurrences inside a chunk of their "
            f"file: {ingest['defs_in_a_chunk']}"
        )
    if args.scale > 1:
        (ts, ms), (tf, mf) = by[f"stream-binary x{args.scale}"], by[f"full-binary x{args.scale}"]
        print(
            f"binary x{args.scale}: streaming / full-load time ratio {ts / tf:.2f}x; full-load uses "
            f"{mf / max(ms, 0.1):.1f}x the memory (streaming: {ms:.0f} MB at x{args.scale} vs "
            f"{by['stream-binary'][1]:.0f} MB at x1)"
        )
    for fmt in ("binary", "json"):
        if f"stream-{fmt}" in by:
            (ts, ms), (tf, mf) = by[f"stream-{fmt}"], by[f"full-{fmt}"]
            print(
                f"{fmt}: streaming / full-load time ratio {ts / tf:.2f}x; "
                f"peak memory above baseline: full-load uses {mf / max(ms, 0.1):.1f}x the streaming import"
            )


if __name__ == "__main__":
    main()
