"""The hydration index: a memory-mapped Arrow sidecar of the catalog's chunk rows.

``indexctl catalog refresh`` writes ``<catalog>.hydrate.arrow`` next to the catalog: the
columns of :data:`python_ext.catalog.hydrate.BASE_COLUMNS` for every chunk of ``v_chunks``,
sorted by ``chunk_id``, uncompressed Arrow IPC. Looking up a search page of ids is then a
binary search over the id column and a ``take`` of a few hundred rows from memory-mapped pages:
no query planning, no decompression, and no multi-gigabyte database file to open, which is what
makes hydration fast both warm and cold (``bench/catalog.py``).

The sidecar is only trusted for the exact catalog file it was built from: its schema metadata
records that file's inode, size and modification time (a rename keeps all three). It is written
and renamed into place *before* the new catalog is swapped in, so during the swap — or after a
plain in-place ``dbt build`` — the stamps differ and :func:`open_hydration_index` returns None;
callers then read the catalog through DuckDB, which gives the same rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from python_ext.atomic import atomic_path

FORMAT = "codeintel-hydrate/1"
SUFFIX = ".hydrate.arrow"
_BATCH_ROWS = 65_536


def sidecar_path(db_path: Path) -> Path:
    """Where the hydration index of catalog ``db_path`` lives."""
    return db_path.with_name(db_path.name + SUFFIX)


def catalog_stamp(db_path: Path) -> dict[bytes, bytes]:
    """Identity of a catalog file (format, inode, size, mtime) as sidecar metadata."""
    st = os.stat(db_path)
    return {
        b"codeintel.hydrate.format": FORMAT.encode(),
        b"codeintel.hydrate.catalog_ino": str(st.st_ino).encode(),
        b"codeintel.hydrate.catalog_size": str(st.st_size).encode(),
        b"codeintel.hydrate.catalog_mtime_ns": str(st.st_mtime_ns).encode(),
    }


def write_hydration_index(
    db_path: Path, columns: tuple[str, ...], *, published_as: Path | None = None
) -> Path | None:
    """Write the sidecar of the (finished, checkpointed) catalog ``db_path``; return its path.

    Streams ``v_chunks`` sorted by ``chunk_id`` in record batches, so memory stays bounded.

    :param db_path: the catalog file the sidecar describes; it must not change afterwards.
    :param columns: the chunk columns to keep (``chunk_id`` first).
    :param published_as: the path ``db_path`` will be renamed to (the sidecar goes next to it);
        default ``db_path`` itself.
    :returns: the sidecar path, or None (and no sidecar) if ``db_path`` changed while it was
        being read, in which case hydration simply reads the catalog through DuckDB.
    """
    import duckdb

    stamp = catalog_stamp(db_path)
    target = sidecar_path(published_as or db_path)
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        reader = con.sql(f"select {', '.join(columns)} from main.v_chunks order by chunk_id").to_arrow_reader(
            _BATCH_ROWS
        )
        schema = reader.schema.with_metadata(stamp)
        with (
            atomic_path(target) as tmp,
            pa.OSFile(str(tmp), "wb") as sink,
            pa.ipc.new_file(sink, schema) as writer,
        ):
            for batch in reader:
                writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
    finally:
        con.close()
    if catalog_stamp(db_path) != stamp:
        target.unlink(missing_ok=True)
        return None
    return target


@dataclass
class HydrationIndex:
    """An open sidecar: sorted ids and the memory-mapped record batches."""

    batches: list[pa.RecordBatch]
    offsets: np.ndarray  # first global row of each batch
    ids: np.ndarray
    stamp: dict[bytes, bytes]

    def lookup(self, wanted: list[int]) -> dict[int, dict[str, object]]:
        """Rows (as dicts) for the ids of ``wanted`` that exist, keyed by chunk id."""
        if not wanted or not len(self.ids):
            return {}
        keys = np.asarray(wanted, dtype=np.int64)
        pos = np.searchsorted(self.ids, keys)
        pos_ok = np.minimum(pos, len(self.ids) - 1)
        rows = pos_ok[(pos < len(self.ids)) & (self.ids[pos_ok] == keys)]
        found: dict[int, dict[str, object]] = {}
        which = np.searchsorted(self.offsets, rows, side="right") - 1
        for b in np.unique(which):
            local = rows[which == b] - self.offsets[b]
            for row in self.batches[b].take(pa.array(local)).to_pylist():
                found[int(row["chunk_id"])] = row
        return found


def open_hydration_index(db_path: Path) -> HydrationIndex | None:
    """Open the sidecar of ``db_path`` if it exists and was built from this very file.

    :returns: None when there is no sidecar, it is unreadable, or it describes another file.
    """
    path = sidecar_path(db_path)
    try:
        stamp = catalog_stamp(db_path)
        reader = pa.ipc.open_file(pa.memory_map(str(path)))
    except (OSError, pa.ArrowInvalid):
        return None
    if (reader.schema.metadata or {}) != stamp:
        return None
    batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
    sizes = np.array([b.num_rows for b in batches], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if len(sizes) else np.zeros(0, np.int64)
    ids = (
        np.concatenate([b.column(0).to_numpy() for b in batches]).astype(np.int64, copy=False)
        if batches
        else np.empty(0, np.int64)
    )
    return HydrationIndex(batches=batches, offsets=offsets, ids=ids, stamp=stamp)
