"""Chunk identity (docs/contracts.md#conventions): deterministic 64-bit chunk ids and content hashes.

* ``chunk_id``: BLAKE2b with an 8-byte digest of ``uri|start_byte|end_byte`` (``|salt``
  appended when a salt is given), read as a big-endian unsigned integer and reduced to a
  non-negative signed int64 (top bit cleared) so FAISS can use it as a label.
* ``content_hash``: xxh64 hex digest of the chunk's UTF-8 content.
* ``node_id``: the same construction over ``node|uri|start_byte|end_byte|kind`` for the
  syntax-tree nodes of ``ast_nodes.parquet``.

Both are pure functions of their inputs: the same repository gives the same ids on every run
and every machine.
"""

from __future__ import annotations

import hashlib

import xxhash

_INT63_MASK = (1 << 63) - 1


def chunk_id(uri: str, start_byte: int, end_byte: int, salt: str | None = None) -> int:
    """Return the chunk id of ``uri[start_byte:end_byte]`` (a non-negative int64)."""
    key = f"{uri}|{start_byte}|{end_byte}"
    if salt:
        key = f"{key}|{salt}"
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _INT63_MASK


def node_id(uri: str, start_byte: int, end_byte: int, kind: str) -> int:
    """Return the id of the syntax-tree node ``kind`` at ``uri[start_byte:end_byte]``: BLAKE2b
    (8 bytes) of ``node|uri|start_byte|end_byte|kind``, top bit cleared (a non-negative int64)."""
    key = f"node|{uri}|{start_byte}|{end_byte}|{kind}"
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _INT63_MASK


def content_hash(content: str) -> str:
    """Return the xxh64 hex digest of ``content`` encoded as UTF-8."""
    return xxhash.xxh64_hexdigest(content.encode("utf-8"))
