"""The BM25 index of a version: built by ``indexctl index build``, stored beside the FAISS files.

Documents are the chunks in **FAISS row order** (the id map's ``faiss_row``), so one row mask
filters both the dense and the lexical channel, and a BM25 document number is a FAISS row.
Tokens are :func:`python_ext.lang.tokens.code_tokens` of the chunk content (identifiers split
on case and underscores, whole identifiers kept), scored by ``bm25s`` with the Lucene variant,
k1 = 1.5, b = 0.75.

Files: ``<version>/bm25/`` holds bm25s's own files (``params.index.json``,
``vocab.index.json``, ``data.csc.index.npy``, ``indices.csc.index.npy``,
``indptr.csc.index.npy``); version.json records their digest (``bm25_sha256``) and the
settings (``bm25``). Loading checks the digest and memory-maps the score matrix, so a large
index costs page cache, not process memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from python_ext.errors import IndexMismatchError
from python_ext.lang.tokens import code_tokens

BM25_DIR = "bm25"
#: bm25s settings every version is built with (recorded in version.json ``bm25``).
BM25_PARAMS: dict[str, Any] = {"method": "lucene", "k1": 1.5, "b": 0.75}
#: Name of the tokenizer (bumped if :func:`code_tokens` ever changes meaning).
TOKENIZER = "code_tokens/1"


@dataclass
class Bm25Index:
    """A BM25 index over ``n_docs`` documents (document i = FAISS row i).

    :param retriever: the ``bm25s.BM25`` object.
    :param n_docs: number of documents.
    """

    retriever: Any
    n_docs: int

    def scores(self, text: str) -> np.ndarray:
        """BM25 score of every document for the query ``text`` (float32, length ``n_docs``)."""
        tokens = [t for t in code_tokens(text) if t in self.retriever.vocab_dict]
        if not tokens or self.n_docs == 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)


def build_bm25(token_lists: Sequence[list[str]]) -> Bm25Index:
    """Index documents given as token lists (one per FAISS row).

    :param token_lists: the tokens of each document (may be empty lists).
    """
    import bm25s

    retriever = bm25s.BM25(**BM25_PARAMS)
    docs = list(token_lists)
    if docs and any(docs):
        retriever.index(docs, show_progress=False)
    else:
        # bm25s cannot index a corpus without a single token; keep an empty vocabulary.
        retriever.vocab_dict = {}
    return Bm25Index(retriever, len(docs))


def build_bm25_from_texts(texts: Iterable[str]) -> Bm25Index:
    """:func:`build_bm25` of the code tokens of ``texts``."""
    return build_bm25([code_tokens(t) for t in texts])


def write_bm25(index: Bm25Index, folder: Path) -> str:
    """Save ``index`` into ``folder/bm25/``; return the folder's digest (:func:`bm25_digest`)."""
    target = folder / BM25_DIR
    target.mkdir(parents=True, exist_ok=True)
    if index.retriever.vocab_dict:
        index.retriever.save(str(target), show_progress=False)
    else:
        (target / "empty.json").write_text(json.dumps({"n_docs": index.n_docs}))
    return bm25_digest(target)


def bm25_digest(directory: Path) -> str:
    """sha256 over the names and bytes of every file in ``directory`` (sorted by name)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def has_bm25(version_dir: Path) -> bool:
    """True when the version folder holds a BM25 index."""
    return (version_dir / BM25_DIR).is_dir()


def load_bm25(version_dir: Path, manifest: dict[str, Any], *, verify: bool = True) -> Bm25Index:
    """Load the version's BM25 index, checking its digest against version.json.

    :raises IndexMismatchError: the files were changed after the build, or the document count
        does not match the index's ``ntotal``.
    """
    import bm25s

    directory = version_dir / BM25_DIR
    if verify:
        got = bm25_digest(directory)
        want = manifest.get("bm25_sha256")
        if got != want:
            raise IndexMismatchError(
                f"{directory}: BM25 index sha256 {got[:16]}… does not match version.json bm25_sha256 "
                f"{str(want)[:16]}… (version {manifest.get('version')})",
                hint="the files were changed after the build: rebuild with `indexctl index build`",
            )
    empty = directory / "empty.json"
    if empty.is_file():
        index = build_bm25([[] for _ in range(int(json.loads(empty.read_text())["n_docs"]))])
    else:
        retriever = bm25s.BM25.load(str(directory), mmap=True, show_progress=False)
        index = Bm25Index(retriever, int(retriever.scores["num_docs"]))
    if index.n_docs != int(manifest.get("ntotal", index.n_docs)):
        raise IndexMismatchError(
            f"{directory}: BM25 index holds {index.n_docs} documents but the FAISS index "
            f"{manifest.get('ntotal')} (version {manifest.get('version')})",
            hint="rebuild with `indexctl index build`",
        )
    return index
