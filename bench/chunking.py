"""Chunking benchmark on real repositories: the chunker before and after cast-2, side by side.

For each pinned repository (``bench/_sources.py``: requests, rxjs, client_golang, tokio, fetched
from PyPI, npm and Debian; never vendored), every file the walk keeps is chunked by

* **before** — the previous release's chunker (``python_ext/ingest/chunker.py`` at ``--before-ref``,
  a 1,200 non-whitespace-character budget), loaded from git into this process;
* **after** — the current chunker sized for all-MiniLM-L6-v2's window (254 tokens + [CLS]/[SEP]);

and the runs alternate (before, after, before, after …) so that both see the same load. Printed,
per repository and side by side with the ratio:

* chunking throughput (MB/s; the first, cold pass and the best of ``--repeats``);
* the share of chunks whose text exceeds the 256-token window, per language (the model's own
  tokenizer on each chunk, special tokens included);
* documented definitions whose doc comment ends in another chunk than the declaration's name;
* code chunks that name no symbol and no enclosing symbol;
* chunks that start in the middle of a line.

Usage::

    python bench/chunking.py [--repos requests,tokio] [--before-ref b65e80d] [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from _sources import DEFAULT_CACHE, REPOS, fetch_repo  # noqa: E402

from python_ext.embed.minilm import MINILM_WINDOW, minilm_token_counter  # noqa: E402
from python_ext.ingest.chunker import ChunkSizer, chunk_file  # noqa: E402
from python_ext.ingest.walk import walk_repository  # noqa: E402
from python_ext.lang.detect import TREE_SITTER_LANGUAGES  # noqa: E402
from python_ext.lang.docs import documentation  # noqa: E402
from python_ext.lang.parsers import parser_for  # noqa: E402
from python_ext.lang.symbols import definitions  # noqa: E402

#: The last commit whose chunker is the one measured as BEFORE (cast-1, 1,200 characters).
BEFORE_REF = "b65e80d"


def load_before(ref: str):  # type: ignore[no-untyped-def]
    """The chunker module of ``ref``, imported from git under the name ``before_chunker``."""
    source = subprocess.run(
        ["git", "-C", str(HERE.parent), "show", f"{ref}:python_ext/ingest/chunker.py"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp(prefix="before-chunker-")) / "before_chunker.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("before_chunker", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["before_chunker"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def quality(files, chunks_by_file: dict[str, list], counter) -> dict:  # type: ignore[no-untyped-def]
    """Window share per language, doc/declaration splits, symbol-less code chunks, mid-line starts."""
    by_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    texts, langs = [], []
    for f in files:
        for c in chunks_by_file[f.uri]:
            texts.append(c.content)
            langs.append(c.lang)
    lengths = [n + counter.special_tokens for n in counter.count(texts)]
    for lang, n in zip(langs, lengths, strict=True):
        by_lang[lang][0] += 1
        by_lang[lang][1] += n > MINILM_WINDOW
    docs = split_docs = code = bare = midline = 0
    for f in files:
        chunks = chunks_by_file[f.uri]
        for c in chunks:
            head = f.data[f.data.rfind(b"\n", 0, c.start_byte) + 1 : c.start_byte]
            midline += bool(head.strip())
            if c.lang in TREE_SITTER_LANGUAGES:
                code += 1
                bare += not c.symbols and not getattr(c, "enclosing_symbol", None)
        if f.lang not in TREE_SITTER_LANGUAGES:
            continue
        tree = parser_for(f.lang).parse(f.data)
        starts = [c.start_byte for c in chunks]
        for d in definitions(tree, f.uri, f.lang, f.data):
            doc = documentation(d.node, f.data, f.lang)
            if doc is None or d.node is None:
                continue
            _, doc_start, doc_end = doc
            # the doc's end precedes the declaration (comments) or its start follows the name
            # (Python docstrings): that byte must share the name's chunk
            last = doc_start + len(f.data[doc_start:doc_end].rstrip()) - 1
            anchor = doc_start if f.lang == "python" else last
            docs += 1
            split_docs += _index(starts, anchor) != _index(starts, d.name_start)
    total = sum(v[0] for v in by_lang.values())
    return {
        "chunks": total,
        "over_window": {lang: f"{v[1]}/{v[0]}" for lang, v in sorted(by_lang.items())},
        "over_window_share": round(sum(v[1] for v in by_lang.values()) / max(1, total), 4),
        "docs": docs,
        "doc_split_from_declaration": split_docs,
        "code_chunks": code,
        "code_chunks_without_symbol": bare,
        "midline_starts": midline,
    }


def _index(starts: list[int], byte: int) -> int:
    import bisect

    return bisect.bisect_right(starts, byte) - 1


def bench(name: str, cache: Path, before, repeats: int, counter) -> dict:  # type: ignore[no-untyped-def]
    repo, _ = fetch_repo(name, cache)
    files = walk_repository(repo, default_skips=False).files  # the same files for both
    mb = sum(f.size for f in files) / 1e6
    sizer = ChunkSizer.tokens(counter, MINILM_WINDOW)
    runs: dict[str, list[float]] = {"before": [], "after": []}
    out: dict[str, dict] = {}
    for _ in range(repeats):
        for label in ("before", "after"):
            t = time.perf_counter()
            if label == "before":
                chunks = {f.uri: before.chunk_file(f.uri, f.data, f.lang) for f in files}
            else:
                chunks = {f.uri: chunk_file(f.uri, f.data, f.lang, sizer=sizer) for f in files}
            runs[label].append(time.perf_counter() - t)
            out[label] = chunks
    result = {"repo": name, "files": len(files), "mb": round(mb, 3), "loadavg": list(os.getloadavg())}
    for label in ("before", "after"):
        result[label] = {
            "mb_per_s_first": round(mb / runs[label][0], 3),
            "mb_per_s_best": round(mb / min(runs[label]), 3),
            **quality(files, out[label], counter),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repos", default=",".join(REPOS))
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--before-ref", default=BEFORE_REF)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = p.parse_args(argv)
    before = load_before(args.before_ref)
    counter = minilm_token_counter()
    results = []
    print(f"before = chunker at {args.before_ref} (1,200 characters); after = this checkout (254 tokens)")
    for name in [n.strip() for n in args.repos.split(",") if n.strip()]:
        r = bench(name, args.cache_dir, before, args.repeats, counter)
        results.append(r)
        b, a = r["before"], r["after"]
        print(f"\n== {name}: {r['files']} files, {r['mb']} MB, load {r['loadavg']}")
        for key in ("mb_per_s_first", "mb_per_s_best", "chunks", "over_window_share", "docs",
                    "doc_split_from_declaration", "code_chunks", "code_chunks_without_symbol",
                    "midline_starts"):  # fmt: skip
            x, y = b[key], a[key]
            ratio = f"{y / x:.2f}x" if isinstance(x, (int, float)) and x else "-"
            print(f"  {key:30} before {x!s:>10}  after {y!s:>10}  after/before {ratio}")
        print(f"  {'over 256 tokens per language':30} before {b['over_window']}")
        print(f"  {'':30} after  {a['over_window']}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
