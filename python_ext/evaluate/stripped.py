"""The held-out evaluation protocol: docstring queries over a copy of the repository whose
function docstrings are removed, chunked and embedded as such.

The in-place protocol (:mod:`python_ext.evaluate.queries`, origin ``docstring``) masks the
docstring inside chunks that were *cut with the docstring in place*: the chunk holds less code
than it would without it, so it flatters the dense channel (by about 0.08 recall@10 on
requests). This protocol measures chunks as a user gets them for undocumented code:

1. :func:`strip_docstrings` writes ``OUT/repo/`` — every file the ingest would take, with the
   documentation of every function and method (the project's one rule,
   :func:`python_ext.lang.docs.documentation`) removed: Python docstring statements (``pass``
   stands in when the docstring was the whole body), ``/** … */``, ``//`` and ``///`` doc comments
   with their lines — and ``OUT/docstrings.jsonl``, one line per removed docstring: the query
   text (its first sentence), the file, and the function's byte and line range *in the copy*;
2. ``indexctl ingest OUT/repo --out ROOT`` and ``indexctl index build --data-root ROOT``;
3. ``indexctl eval queries --data-root ROOT --stripped OUT`` (:func:`stripped_queries`): each
   query's positives are the chunks of ROOT overlapping its function (a hit is a chunk
   overlapping the function), re-mapped to however the copy was chunked. The data root must
   have been ingested from that copy (checked against ``OUT/manifest.json``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

from python_ext.atomic import atomic_path
from python_ext.errors import EvalInputError
from python_ext.evaluate.docstrings import SUPPORTED_LANGUAGES, first_sentence
from python_ext.ingest.walk import walk_repository
from python_ext.lang.docs import documentation
from python_ext.lang.nodes import FUNCTION_NODES, find_nodes
from python_ext.lang.parsers import parser_for
from python_ext.progress import NULL_PROGRESS, Reporter

TARGETS_NAME = "docstrings.jsonl"
MANIFEST_NAME = "manifest.json"
COPY_DIR = "repo"
#: Queries shorter than this many words are skipped (as for in-place docstring queries).
MIN_WORDS = 3
MAX_QUERY_CHARS = 300


@dataclass
class StripResult:
    """What :func:`strip_docstrings` wrote."""

    repo: str
    copy: str
    targets: str
    files: int
    files_stripped: int
    docstrings_removed: int
    queries: int
    by_lang: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _line_span(data: bytes, start: int, end: int) -> tuple[int, int]:
    """Widen ``[start, end)`` to whole lines when only whitespace shares them."""
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", end)
    line_end = len(data) if line_end < 0 else line_end + 1
    if data[line_start:start].strip() or data[end:line_end].strip():
        return start, end
    return line_start, line_end


def _python_removal(node: Any, data: bytes, start: int, end: int) -> tuple[int, int, bytes]:
    """Remove a docstring statement; ``pass`` stands in when it was the function's whole body."""
    body = node.child_by_field_name("body")
    alone = body is not None and len(body.named_children) == 1
    if alone:
        return start, end, b"pass"
    s, e = _line_span(data, start, end)
    if (s, e) == (start, end):  # `def f(): """doc"""; return 1` — drop the statement and its ;
        after = data[end:].lstrip(b" \t")
        if after.startswith(b";"):
            e = end + (len(data[end:]) - len(after)) + 1
    return s, e, b""


def strip_file(data: bytes, lang: str, uri: str) -> tuple[bytes, list[dict[str, Any]]]:
    """The file without its functions' documentation, and one target per removed docstring
    (``name``, ``text``, the function's ``start_byte``/``end_byte``/``start_line``/``end_line``
    in the stripped bytes)."""
    kinds = FUNCTION_NODES.get(lang)
    if not kinds:
        return data, []
    tree = parser_for(lang).parse(data)
    found: list[tuple[int, int, bytes, Any, str]] = []  # (start, end, replacement, node, text)
    for node in find_nodes(lang, tree.root_node, kinds):
        doc = documentation(node, data, lang)
        if doc is None:
            continue
        text, start, end = doc
        if lang == "python":
            s, e, repl = _python_removal(node, data, start, end)
        else:
            s, e = _line_span(data, start, end)
            repl = b""
        found.append((s, e, repl, node, text))
    if not found:
        return data, []
    found.sort(key=lambda f: f[0])
    spans: list[tuple[int, int, bytes]] = []
    for s, e, repl, _, _ in found:
        if spans and s < spans[-1][1]:  # nested/overlapping: keep the first
            continue
        spans.append((s, e, repl))
    out = bytearray()
    pos = 0
    for s, e, repl in spans:
        out += data[pos:s] + repl
        pos = e
    out += data[pos:]
    stripped = bytes(out)

    def moved(offset: int) -> int:
        shift = 0
        for s, e, repl in spans:
            if e <= offset:
                shift += (e - s) - len(repl)
            elif s < offset:
                shift += offset - s - min(len(repl), offset - s)
        return offset - shift

    targets: list[dict[str, Any]] = []
    for _, _, _, node, text in found:
        sentence = first_sentence(text)[:MAX_QUERY_CHARS]
        if len(sentence.split()) < MIN_WORDS:
            continue
        name_node = node.child_by_field_name("name")
        start, end = moved(node.start_byte), moved(node.end_byte)
        targets.append(
            {
                "uri": uri,
                "lang": lang,
                "name": name_node.text.decode("utf-8", "replace") if name_node is not None else "",
                "text": sentence,
                "start_byte": start,
                "end_byte": end,
                "start_line": stripped.count(b"\n", 0, start) + 1,
                "end_line": stripped.count(b"\n", 0, max(start, end - 1)) + 1,
            }
        )
    return stripped, targets


def strip_docstrings(
    repo: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    progress: Reporter = NULL_PROGRESS,
    **walk_options: Any,
) -> StripResult:
    """Write the stripped copy of ``repo`` under ``out`` (see the module docstring).

    :param walk_options: as the ingest's (``languages``, ``include``, ``exclude`` …): the copy
        holds exactly the files an ingest with these options would take.
    :raises EvalInputError: when ``out`` is inside ``repo`` or exists and is not empty.
    """
    started = time.perf_counter()
    walk = walk_repository(repo, progress=progress, **walk_options)
    root = Path(out).expanduser().resolve()
    if root == walk.root or walk.root in root.parents:
        raise EvalInputError(
            f"--out {root} is inside the repository {walk.root}", hint="write the copy elsewhere"
        )
    if root.exists() and any(root.iterdir()):
        raise EvalInputError(f"{root} exists and is not empty", hint="pass a new or empty folder to --out")
    copy = root / COPY_DIR
    targets: list[dict[str, Any]] = []
    hashes: dict[str, str] = {}
    stripped_files = 0
    by_lang: dict[str, int] = {}
    with progress.task("stripping docstrings", total=len(walk.files)) as advance:
        for f in walk.files:
            data = f.data
            if f.lang in SUPPORTED_LANGUAGES:
                data, found = strip_file(f.data, f.lang, f.uri)
                if data != f.data:
                    stripped_files += 1
                targets.extend(found)
                by_lang[f.lang] = by_lang.get(f.lang, 0) + len(found)
            target = copy / f.uri
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            hashes[f.uri] = xxhash.xxh64_hexdigest(data)
            advance(1)
    targets_path = root / TARGETS_NAME
    with atomic_path(targets_path) as tmp:
        Path(tmp).write_text("".join(json.dumps(t, sort_keys=True) + "\n" for t in targets), encoding="utf-8")
    manifest = {"repo": str(walk.root), "copy": str(copy), "files": hashes, "created_at": time.time()}
    with atomic_path(root / MANIFEST_NAME) as tmp:
        Path(tmp).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return StripResult(
        repo=str(walk.root),
        copy=str(copy),
        targets=str(targets_path),
        files=len(walk.files),
        files_stripped=stripped_files,
        docstrings_removed=sum(by_lang.values()),
        queries=len({t["text"] for t in targets}),
        by_lang=dict(sorted(by_lang.items())),
        seconds=round(time.perf_counter() - started, 3),
    )


def read_targets(stripped: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The targets and the copy's file hashes of a :func:`strip_docstrings` output folder.

    :raises EvalInputError: when the folder does not hold a stripped copy.
    """
    root = Path(stripped)
    targets_path, manifest_path = root / TARGETS_NAME, root / MANIFEST_NAME
    if not targets_path.is_file() or not manifest_path.is_file():
        raise EvalInputError(
            f"{root} is not a stripped copy (no {TARGETS_NAME} / {MANIFEST_NAME})",
            hint="make one with `indexctl eval strip REPO --out DIR`",
        )
    targets = []
    for lineno, line in enumerate(targets_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            targets.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise EvalInputError(f"{targets_path}:{lineno}: invalid JSON ({exc.msg})") from exc
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return targets, dict(manifest.get("files", {}))
