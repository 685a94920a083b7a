"""The exact vectors of a version, by FAISS row: for exact re-rank and the ``flat`` channel.

An approximate index (IVF-PQ, SQ8, …) scores with compressed codes; search re-scores its
``k × k_factor`` candidates exactly against the stored embeddings (docs/index.md#refine). Where
those embeddings live:

* a ``Flat`` index *is* the exact vectors: they are read in place from the index (no copy);
* every other index gets ``vectors.npy`` in its version folder at build time: a float32
  ``(ntotal, d)`` matrix in FAISS row order (the id map's ``faiss_row``), memory-mapped on load
  and checked against version.json ``vectors_file_sha256``.

:func:`embeddings_by_ids` returns the stored vectors of chunk ids in the order asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from python_ext.config import DataRootLike, resolve_data_root
from python_ext.errors import IndexMismatchError, InputError
from python_ext.index.idmap import RowMap, file_sha256, index_ids

VECTORS_FILE = "vectors.npy"


def _inner(index: faiss.Index) -> faiss.Index:
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexIDMap):
        return faiss.downcast_index(index.index)
    return index


def holds_exact_vectors(index: faiss.Index) -> bool:
    """True when the index (or the index an id map wraps) is a plain ``IndexFlat``."""
    return isinstance(_inner(index), faiss.IndexFlat)


def scores_exactly(index: faiss.Index) -> bool:
    """True when the index's distances are exact (raw float vectors, no compressed codes).

    Flat, IVF-Flat, HNSW-Flat and refine-by-Flat indexes score exactly, so re-ranking their
    candidates cannot change the top k; PQ, SQ and the other code-based families do not.
    """
    inner = _inner(index)
    if isinstance(inner, (faiss.IndexFlat, faiss.IndexIVFFlat)):
        return True
    if isinstance(inner, faiss.IndexHNSW):
        return isinstance(faiss.downcast_index(inner.storage), faiss.IndexFlat)
    if isinstance(inner, faiss.IndexRefine):
        return isinstance(faiss.downcast_index(inner.refine_index), faiss.IndexFlat)
    return False


def create_vectors_file(folder: Path, n: int, d: int) -> np.ndarray:
    """A writable float32 ``(n, d)`` ``.npy`` memory map at ``folder/vectors.npy`` (build only)."""
    return np.lib.format.open_memmap(folder / VECTORS_FILE, mode="w+", dtype=np.float32, shape=(n, d))


def open_vectors(
    version_dir: Path, manifest: dict[str, Any], index: faiss.Index, *, verify: bool = True
) -> np.ndarray:
    """The version's exact vectors as a read-only ``(ntotal, d)`` float32 array in row order.

    :param index: the loaded index (a Flat index's own storage is returned without a copy; the
        caller keeps the index alive while it uses the array).
    :raises IndexMismatchError: ``vectors.npy`` is missing (a version built before it existed),
        changed after the build, or has the wrong shape.
    """
    inner = _inner(index)
    n, d = int(index.ntotal), int(index.d)
    if isinstance(inner, faiss.IndexFlat):
        view = faiss.rev_swig_ptr(inner.get_xb(), n * d).reshape(n, d)
        view.flags.writeable = False
        return view
    path = version_dir / VECTORS_FILE
    name = manifest.get("version")
    if not path.is_file():
        raise IndexMismatchError(
            f"{version_dir}: version {name} has no stored vectors ({VECTORS_FILE}); exact re-rank and "
            "the flat channel need them",
            hint="rebuild with `indexctl index build` (versions built since re-rank existed store them)",
        )
    if verify:
        want = manifest.get("vectors_file_sha256")
        got = file_sha256(path)
        if want != got:
            raise IndexMismatchError(
                f"{path}: vectors sha256 {got[:16]}… does not match version.json vectors_file_sha256 "
                f"{str(want)[:16]}… (version {name})",
                hint="the files were changed after the build: rebuild with `indexctl index build`",
            )
    matrix = np.load(path, mmap_mode="r")
    if matrix.shape != (n, d) or matrix.dtype != np.float32:
        raise IndexMismatchError(
            f"{path}: holds {matrix.dtype}{matrix.shape}, the index float32({n}, {d}) (version {name})",
            hint="rebuild with `indexctl index build`",
        )
    return matrix


def vectors_by_ids(vectors: np.ndarray, rows: RowMap, ids: Sequence[int] | np.ndarray) -> np.ndarray:
    """``vectors`` rows of chunk ``ids``, in the order given (duplicates repeated).

    :raises InputError: an id is not in the index (the message names it).
    """
    keys = np.asarray(ids, dtype=np.int64).reshape(-1)
    positions, found = rows.rows_of(keys)
    if not found.all():
        missing = keys[~found]
        raise InputError(
            f"{len(missing)} chunk id(s) are not in the index, e.g. {missing[:5].tolist()}",
            hint="pass chunk ids of the published version (v_chunks.chunk_id, or a search hit's chunk_id)",
        )
    return np.array(vectors[positions], dtype=np.float32)


def embeddings_by_ids(
    data_root: DataRootLike, ids: Sequence[int], *, version: str | None = None
) -> np.ndarray:
    """The stored embeddings of ``ids`` (float32 ``(len(ids), d)``), in the order given.

    One-shot: loads the published (or given) version; a :class:`python_ext.search.Searcher`
    keeps it loaded and answers the same from memory (``Searcher.embeddings_by_ids``).

    :raises InputError: an id is not in the index.
    :raises VersionNotFoundError: nothing is published.
    """
    from python_ext.index.load import load_index

    loaded = load_index(resolve_data_root(data_root), version)
    vectors = open_vectors(loaded.path, loaded.manifest, loaded.index)
    return vectors_by_ids(vectors, RowMap(index_ids(loaded.index)), ids)
