"""What search knows about every chunk of a version, by FAISS row, and the filter masks.

:class:`CorpusMeta` is read once per index version from ``<version>/chunk_meta.parquet``
(:data:`~python_ext.contracts.CHUNK_META_SCHEMA`, written by ``indexctl index build``): path,
lines, language, symbols, content hash and preview of each chunk, in FAISS row order. A version
therefore answers with the chunks it was built on, whatever happened to the chunk files since.
(Versions built before that file existed are aligned with the current chunks instead, and
refused when some of their chunks no longer exist.) Each chunk's module comes from the module
facts (``modules.parquet``) with the catalog's longest-prefix rule
(:class:`python_ext.facts.modules.assign.ModuleMap`).

:meth:`CorpusMeta.mask` turns :class:`~python_ext.search.filters.SearchFilters` into a bool mask
over rows; a filter that matches nothing raises :class:`~python_ext.errors.NoMatchError` naming
what does exist.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.contracts import CHUNK_META_SCHEMA
from python_ext.errors import ContractError, IndexMismatchError, NoMatchError
from python_ext.index import versions as _v
from python_ext.index.idmap import RowMap, file_sha256
from python_ext.search.filters import SearchFilters

_MODULE_SEPARATORS = (".", "/", "::")


def _dictionary(column: pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """(unique values, per-row code) of a string column."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    values = encoded.dictionary.to_pylist()
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    return values, codes


def glob_matches(pattern: str, uris: Sequence[str]) -> np.ndarray:
    """Which ``uris`` the glob ``pattern`` matches (bool array), with the filter semantics of
    :mod:`python_ext.search.filters`: fnmatch, trailing ``/`` = everything under, and a
    wildcard-free pattern naming a folder = everything under that folder."""
    pat = pattern + "*" if pattern.endswith("/") else pattern
    hits = np.fromiter((fnmatch.fnmatchcase(u, pat) for u in uris), dtype=bool, count=len(uris))
    if not hits.any() and not any(c in pattern for c in "*?["):
        folder = pattern.rstrip("/") + "/"
        hits = np.fromiter((u.startswith(folder) for u in uris), dtype=bool, count=len(uris))
    return hits


def module_matches(wanted: str, module_ids: Sequence[str | None]) -> np.ndarray:
    """Which module ids are ``wanted`` or one of its submodules (bool array)."""
    prefixes = tuple(wanted + sep for sep in _MODULE_SEPARATORS)
    return np.fromiter(
        (m is not None and (m == wanted or m.startswith(prefixes)) for m in module_ids),
        dtype=bool,
        count=len(module_ids),
    )


def _suggest(value: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


@dataclass
class CorpusMeta:
    """Per-row chunk metadata of one index version.

    :param table: :data:`CHUNK_META_SCHEMA` rows in FAISS row order.
    :param uris: distinct paths; ``uri_code[row]`` indexes them.
    :param languages: distinct languages; ``lang_code[row]`` indexes them.
    :param module_of_uri: module id of each distinct path (None without module facts).
    """

    table: pa.Table = field(repr=False)
    ids: np.ndarray = field(repr=False)
    uris: list[str] = field(repr=False)
    uri_code: np.ndarray = field(repr=False)
    languages: list[str]
    lang_code: np.ndarray = field(repr=False)
    module_of_uri: list[str | None] | None = field(default=None, repr=False)
    _glob_cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return self.table.num_rows

    @classmethod
    def from_table(cls, table: pa.Table, module_of: Callable[[str], str | None] | None) -> CorpusMeta:
        """Build from a row-ordered :data:`CHUNK_META_SCHEMA` table."""
        uris, uri_code = _dictionary(table.column("uri"))
        languages, lang_code = _dictionary(table.column("language"))
        ids = np.asarray(table.column("chunk_id").to_numpy(), dtype=np.int64)
        modules = [module_of(u) for u in uris] if module_of is not None else None
        return cls(table, ids, uris, uri_code, languages, lang_code, modules)

    @property
    def has_modules(self) -> bool:
        return self.module_of_uri is not None

    def language_counts(self) -> dict[str, int]:
        counts = np.bincount(self.lang_code, minlength=len(self.languages))
        return {lang: int(counts[i]) for i, lang in enumerate(self.languages) if counts[i]}

    def module_ids(self) -> list[str]:
        """Distinct module ids of the version's chunks (empty without module facts)."""
        return sorted({m for m in self.module_of_uri or [] if m is not None})

    def module_of_row(self, row: int) -> str | None:
        if self.module_of_uri is None:
            return None
        return self.module_of_uri[int(self.uri_code[row])]

    # --- filters ------------------------------------------------------------------------
    def _uri_mask(self, pattern: str) -> np.ndarray:
        cached = self._glob_cache.get(pattern)
        if cached is None:
            cached = glob_matches(pattern, self.uris)
            if len(self._glob_cache) < 1024:
                self._glob_cache[pattern] = cached
        return cached

    def language_mask(self, languages: Sequence[str]) -> np.ndarray:
        """Rows in any of ``languages``.

        :raises NoMatchError: none of the languages has a chunk in this version.
        """
        codes = [self.languages.index(lang) for lang in languages if lang in self.languages]
        if not codes:
            have = ", ".join(f"{k} ({v})" for k, v in sorted(self.language_counts().items()))
            raise NoMatchError(
                f"no chunk is in language {' or '.join(languages)}; the index holds: {have}",
                hint="pick one of the languages listed, or drop --lang",
            )
        return np.isin(self.lang_code, codes)

    def glob_mask(self, include: Sequence[str], exclude: Sequence[str]) -> np.ndarray:
        """Rows whose path matches any ``include`` glob (all when none) and no ``exclude`` glob.

        :raises NoMatchError: no path matches the include globs.
        """
        keep = np.ones(len(self.uris), dtype=bool)
        if include:
            keep = np.zeros(len(self.uris), dtype=bool)
            for pattern in include:
                keep |= self._uri_mask(pattern)
            if not keep.any():
                raise NoMatchError(
                    f"no path matches --include {' '.join(repr(p) for p in include)} "
                    f"({len(self.uris)} files in the index, e.g. {self.uris[0] if self.uris else '-'})",
                    hint="globs match the repository-relative path: '*' spans folders, 'src/' means "
                    "everything under src",
                )
        for pattern in exclude:
            keep &= ~self._uri_mask(pattern)
        return keep[self.uri_code]

    def module_mask(self, modules: Sequence[str]) -> np.ndarray:
        """Rows in any of ``modules`` or their submodules.

        :raises NoMatchError: there are no module facts, or a module id is unknown.
        """
        if self.module_of_uri is None:
            raise NoMatchError(
                "no module facts: --module needs modules/modules.parquet",
                hint="compute them with `indexctl facts REPO` (or `indexctl ingest` with facts)",
            )
        known = self.module_ids()
        per_uri = np.zeros(len(self.uris), dtype=bool)
        for wanted in modules:
            hits = module_matches(wanted, self.module_of_uri)
            if not hits.any():
                raise NoMatchError(
                    f"no chunk is in module {wanted!r}{_suggest(wanted, known)}",
                    hint=f"{len(known)} modules, e.g. {', '.join(known[:5])}; list them with: "
                    'indexctl catalog query "select module_id from v_chunk_modules group by 1"',
                )
            per_uri |= hits
        return per_uri[self.uri_code]

    def mask(
        self, filters: SearchFilters, symbol_rows: Callable[[str], np.ndarray] | None = None
    ) -> np.ndarray | None:
        """The bool row mask of ``filters`` (None when there is no filter).

        :param symbol_rows: ``name → rows`` that define or reference the symbol (raises
            :class:`NoMatchError` for an unknown symbol).
        :raises NoMatchError: a filter matches nothing, or all of them together match nothing.
        """
        if filters.is_empty:
            return None
        mask = np.ones(len(self), dtype=bool)
        parts: list[tuple[str, int]] = []
        if filters.languages:
            m = self.language_mask(filters.languages)
            parts.append(("--lang", int(m.sum())))
            mask &= m
        if filters.include or filters.exclude:
            m = self.glob_mask(filters.include, filters.exclude)
            parts.append(("--include/--exclude", int(m.sum())))
            mask &= m
        if filters.modules:
            m = self.module_mask(filters.modules)
            parts.append(("--module", int(m.sum())))
            mask &= m
        if filters.symbols:
            if symbol_rows is None:
                raise NoMatchError("symbol filters need the symbol facts", hint="run `indexctl facts REPO`")
            m = np.zeros(len(self), dtype=bool)
            for name in filters.symbols:
                m[symbol_rows(name)] = True
            parts.append(("--symbol", int(m.sum())))
            mask &= m
        if not mask.any():
            detail = ", ".join(f"{flag} alone: {n}" for flag, n in parts)
            raise NoMatchError(
                f"no chunk matches {filters.describe()} (chunks matching {detail})",
                hint="each filter matches some chunks but not together: loosen one of them",
            )
        return mask

    # --- records ------------------------------------------------------------------------
    def records(self, rows: Sequence[int]) -> list[dict[str, Any]]:
        """The metadata of ``rows`` (in that order) as dicts with catalog column names."""
        if not len(rows):
            return []
        picked = self.table.take(pa.array(np.asarray(rows, dtype=np.int64))).to_pylist()
        for row, record in zip(rows, picked, strict=True):
            record["module_id"] = self.module_of_row(int(row))
        return picked


def load_module_map(data_root: DataRoot) -> Callable[[str], str | None] | None:
    """``uri → module_id`` from ``modules.parquet`` (None when the file does not exist)."""
    path = data_root.modules_path
    if not path.is_file():
        return None
    from python_ext.errors import InputError
    from python_ext.facts.modules.assign import Module, ModuleMap

    rows = pq.read_table(path, columns=["module_id", "uri_prefix", "language"]).to_pylist()
    module_map = ModuleMap(Module(r["module_id"], r["uri_prefix"], r["language"]) for r in rows)

    def module_of(uri: str) -> str | None:
        try:
            return module_map.module_of(uri).module_id
        except InputError:
            return None

    return module_of


def load_corpus_meta(
    data_root: DataRoot, version_dir: Path, manifest: dict[str, Any], rows: RowMap, *, verify: bool = True
) -> CorpusMeta:
    """The version's :class:`CorpusMeta` (checked against version.json and the id map).

    :raises IndexMismatchError: the file changed after the build, disagrees with the id map, or
        (older versions without the file) some indexed chunks are no longer in the chunk files.
    """
    path = version_dir / _v.CHUNK_META_FILE
    name = manifest.get("version")
    if path.is_file():
        if verify and manifest.get("chunk_meta_sha256") != file_sha256(path):
            raise IndexMismatchError(
                f"{path}: sha256 does not match version.json chunk_meta_sha256 (version {name})",
                hint="the files were changed after the build: rebuild with `indexctl index build`",
            )
        table = pq.read_table(path, schema=CHUNK_META_SCHEMA)
        if not np.array_equal(
            np.asarray(table.column("chunk_id").to_numpy(), dtype=np.int64), rows.id_of_row
        ):
            raise IndexMismatchError(
                f"{path}: chunk ids disagree with the index's id map (version {name})",
                hint="rebuild with `indexctl index build`",
            )
    else:
        table = _meta_from_chunks(data_root, rows, name)
    return CorpusMeta.from_table(table, load_module_map(data_root))


def _meta_from_chunks(data_root: DataRoot, rows: RowMap, version: str | None) -> pa.Table:
    """Row-ordered metadata of an older version, taken from the current chunk files."""
    columns = ["id", "uri", "start_line", "end_line", "lang", "symbols", "content_hash", "preview"]
    try:
        chunks = chunkstore.read_chunks(data_root, columns=[*columns, "enclosing_symbol"])
    except ContractError:  # chunk files written before enclosing_symbol existed (else: raised again)
        chunks = chunkstore.read_chunks(data_root, columns=columns)
    positions, found = rows.rows_of(chunks.column("id").to_numpy())
    present = np.zeros(len(rows), dtype=bool)
    present[positions[found]] = True
    if not present.all():
        missing = rows.id_of_row[~present]
        raise IndexMismatchError(
            f"index version {version} holds {len(missing)} chunk(s) that are no longer in "
            f"{data_root.chunks_dir} (e.g. {missing[:3].tolist()}), and it predates chunk_meta.parquet",
            hint="rebuild the index over the current chunks: indexctl index build",
        )
    order = np.empty(len(rows), dtype=np.int64)
    order[positions[found]] = np.flatnonzero(found)
    picked = chunks.take(pa.array(order))
    counts = Counter(picked.column("id").to_pylist())
    if counts and max(counts.values()) > 1:
        raise IndexMismatchError(
            f"duplicate chunk ids in {data_root.chunks_dir}", hint="re-run indexctl ingest"
        )
    return pa.table(
        {
            "faiss_row": pa.array(np.arange(len(rows), dtype=np.int64)),
            "chunk_id": picked.column("id"),
            "uri": picked.column("uri"),
            "start_line": picked.column("start_line").cast(pa.int32()),
            "end_line": picked.column("end_line").cast(pa.int32()),
            "language": picked.column("lang"),
            "symbols": picked.column("symbols").cast(pa.list_(pa.string())),
            "content_hash": picked.column("content_hash"),
            "preview": picked.column("preview"),
            "enclosing_symbol": picked.column("enclosing_symbol")
            if "enclosing_symbol" in picked.column_names
            else pa.nulls(len(rows), pa.string()),
        },
        schema=CHUNK_META_SCHEMA,
    )
