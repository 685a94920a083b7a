"""Load a published index version, verified, at its operating point.

Loading checks, in order: the version folder is complete; the sha256 of
``faiss_idmap.parquet`` and of ``index.faiss`` equal the ones in version.json; the index's
ntotal and id map agree with the id map file row for row. Then the operating point recorded
in version.json (a FAISS ParameterSpace string such as ``nprobe=16`` or ``efSearch=64``) is
applied, so every search runs at the tuned setting.

The operating point may also name ``k_factor=N`` (N ≥ 1): search then fetches ``k × N``
candidates and re-ranks them exactly against the stored vectors (:mod:`python_ext.index.vectors`).
``k_factor`` is not a FAISS parameter of the index (it is split off before FAISS sees the
string), except for the one family that implements it natively (``IndexIVFPQR``, which then
re-ranks itself).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss

from python_ext.config import DataRootLike, check_version_name, resolve_data_root
from python_ext.errors import IndexMismatchError, OperatingPointError
from python_ext.index import versions as _v
from python_ext.index.idmap import check_idmap, file_sha256, read_idmap
from python_ext.index.shards import parameter_index, read_version_index


@dataclass
class LoadedIndex:
    """A verified index ready to search.

    :param version: the version name.
    :param path: its folder.
    :param manifest: parsed version.json.
    :param index: the ``IndexIDMap2`` (search returns chunk ids).
    :param operating_point: the operating point applied ("" = FAISS defaults), ``k_factor``
        included.
    :param k_factor: candidates fetched per hit for the exact re-rank (1 = no re-rank).
    """

    version: str
    path: Path
    manifest: dict[str, Any]
    index: faiss.Index = field(repr=False)
    operating_point: str
    k_factor: int = 1

    @property
    def inner(self) -> faiss.Index:
        """The wrapped index (what ParameterSpace parameters apply to)."""
        return inner_index(self.index)


def inner_index(index: faiss.Index) -> faiss.Index:
    """The index wrapped by an ``IndexIDMap``/``IndexIDMap2`` (the index itself otherwise)."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexIDMap):
        return faiss.downcast_index(index.index)
    return index


#: Search parameters whose value is a count: name -> largest accepted value. FAISS casts the
#: value to an int (``efSearch=1e12`` wrapped to a negative number, ``efSearch=0`` returned no
#: neighbours): each must be a whole number from 1 to this bound. ``nprobe`` is also capped by
#: the index's number of lists.
COUNT_PARAMETERS: dict[str, int] = {
    "nprobe": 1 << 20,
    "quantizer_nprobe": 1 << 20,
    "efSearch": 1 << 16,
    "quantizer_efSearch": 1 << 16,
    "max_codes": 1 << 40,
    "ht": 1 << 16,
    "polysemous_ht": 1 << 16,
}
#: Real-valued parameters: name -> (smallest, largest) accepted value.
REAL_PARAMETERS: dict[str, tuple[float, float]] = {
    "k_factor": (1.0, 4096.0),
    "k_factor_rf": (1.0, 4096.0),
}
_OP_HINT = "use a FAISS ParameterSpace string such as nprobe=16 or efSearch=64"


def parse_operating_point(operating_point: str) -> list[tuple[str, float]]:
    """Split and check ``"nprobe=16,efSearch=64"`` into ``[(name, value)]``.

    Values must be finite numbers; count parameters (:data:`COUNT_PARAMETERS`) whole numbers
    from 1 to their bound, real ones (:data:`REAL_PARAMETERS`) within their range.

    :raises OperatingPointError: naming the parameter and what is wrong with it.
    """
    out: list[tuple[str, float]] = []
    for part in operating_point.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise OperatingPointError(
                f"operating point {operating_point!r}: {part!r} is not NAME=VALUE", hint=_OP_HINT
            )
        try:
            number = float(value)
        except ValueError as exc:
            raise OperatingPointError(
                f"operating point {operating_point!r}: value of {name} is not a number: {value!r}",
                hint=_OP_HINT,
            ) from exc
        if not math.isfinite(number):
            raise OperatingPointError(
                f"operating point {operating_point!r}: {name}={value.strip()} is not a finite number",
                hint=_OP_HINT,
            )
        if name in COUNT_PARAMETERS:
            top = COUNT_PARAMETERS[name]
            if number != int(number) or not 1 <= number <= top:
                raise OperatingPointError(
                    f"operating point {operating_point!r}: {name} must be a whole number from 1 to {top} "
                    f"(got {value.strip()})",
                    hint=f"e.g. {name}=16; larger values only cost time (FAISS would wrap or ignore them)",
                )
        elif name in REAL_PARAMETERS:
            low, high = REAL_PARAMETERS[name]
            if not low <= number <= high:
                raise OperatingPointError(
                    f"operating point {operating_point!r}: {name} must be from {low:g} to {high:g} "
                    f"(got {value.strip()})",
                    hint=f"e.g. {name}=4",
                )
        out.append((name, number))
    return out


K_FACTOR = "k_factor"
MAX_K_FACTOR = 1024


def split_operating_point(index: faiss.Index, operating_point: str) -> tuple[str, int]:
    """``(FAISS part, k_factor)`` of an operating point such as ``"nprobe=8,k_factor=4"``.

    :param index: the index the point is for (an ``IndexIVFPQR`` keeps ``k_factor`` itself).
    :returns: the ParameterSpace string without our ``k_factor``, and the re-rank factor (1 when
        absent or handled by FAISS).
    :raises OperatingPointError: ``k_factor`` is not an integer in 1…1024.
    """
    if not operating_point:
        return "", 1
    parts = [p for p in operating_point.split(",") if p.strip()]
    faiss_parts: list[str] = []
    k_factor = 1
    native = isinstance(inner_index(index), faiss.IndexIVFPQR)
    for part in parts:
        name, _, value = part.partition("=")
        if name.strip() != K_FACTOR or native:
            faiss_parts.append(part)
            continue
        try:
            k_factor = int(value)
            if str(k_factor) != value.strip() or not 1 <= k_factor <= MAX_K_FACTOR:
                raise ValueError(value)
        except ValueError as exc:
            raise OperatingPointError(
                f"operating point {operating_point!r}: k_factor must be an integer from 1 to "
                f"{MAX_K_FACTOR}, got {value!r}",
                hint="e.g. nprobe=16,k_factor=4 (4 × k candidates re-ranked exactly)",
            ) from exc
    return ",".join(faiss_parts), k_factor


def apply_operating_point(index: faiss.Index, operating_point: str) -> int:
    """Set ParameterSpace parameters (``"nprobe=16,quantizer_efSearch=64"``) on ``index``.

    :param index: an index, or an ``IndexIDMap2`` around one.
    :returns: the ``k_factor`` of the point (1 when it names none); it is search's to apply.
    :raises OperatingPointError: a parameter the index does not have, or a malformed string.
    """
    operating_point, k_factor = split_operating_point(index, operating_point)
    if not operating_point:
        return k_factor
    target = inner_index(index)
    parsed = parse_operating_point(operating_point)
    nlist = _nlist(target)
    for name, number in parsed:
        if name == "nprobe" and nlist is not None and number > nlist:
            raise OperatingPointError(
                f"operating point {operating_point!r}: nprobe={int(number)} is more than the {nlist} "
                f"lists of this {type(target).__name__} index",
                hint=f"use nprobe from 1 to {nlist} (nprobe={nlist} searches every list)",
            )
    try:
        faiss.ParameterSpace().set_index_parameters(target, operating_point)
    except RuntimeError as exc:
        detail = str(exc).strip().rpartition("set_index_parameter:")[2].strip() or "rejected"
        raise OperatingPointError(
            f"operating point {operating_point!r} is not accepted by this {type(target).__name__} "
            f"index: {detail}",
            hint=f"parameters this index accepts: {', '.join(accepted_parameters(target)) or 'none'}"
            f" (and {K_FACTOR}=N for the exact re-rank)",
        ) from exc
    return k_factor


def _nlist(index: faiss.Index) -> int | None:
    """Number of inverted lists of an IVF index (None for other kinds)."""
    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:
        return None
    return int(ivf.nlist) if ivf is not None else None


def accepted_parameters(index: faiss.Index) -> list[str]:
    """Names of the ParameterSpace parameters ``index`` accepts (e.g. ``nprobe``)."""
    ps = faiss.ParameterSpace()
    ps.initialize(parameter_index(index))
    return [ps.parameter_ranges.at(i).name for i in range(ps.parameter_ranges.size())]


def read_index_file(path: Path, version: str, io_flags: int = 0) -> faiss.Index:
    """``faiss.read_index`` of a version's index file (or shard).

    :param io_flags: FAISS I/O flags (``IO_FLAG_ONDISK_SAME_DIR`` for on-disk inverted lists).
    :raises IndexMismatchError: FAISS cannot read it (corrupt or not a FAISS index).
    """
    try:
        return faiss.read_index(str(path), io_flags)
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise IndexMismatchError(
            f"{path}: FAISS cannot read the index of version {version} ({detail[:200]})",
            hint="rebuild with `indexctl index build`",
        ) from exc


def load_index(
    data_root: DataRootLike,
    version: str | None = None,
    *,
    operating_point: str | None = None,
    verify: bool = True,
) -> LoadedIndex:
    """Load ``version`` (default: the published one), verified, at its operating point.

    :param version: a version name; None loads the published version.
    :param operating_point: override the recorded operating point (None keeps it).
    :param verify: check sha256 and id map agreement (default True; only tests turn it off).
    :raises VersionNotFoundError: no such (or no published) version.
    :raises IndexMismatchError: a file's sha256 or the id map disagrees with version.json.
    :raises OperatingPointError: the operating point does not fit the index.
    """
    data_root = resolve_data_root(data_root)
    name = (
        check_version_name(version, what="--version")
        if version is not None
        else _v.current_version(data_root)
    )
    manifest = _v.read_manifest(data_root, name)
    path = data_root.version_dir(name)
    if not _v.is_complete(path):
        raise IndexMismatchError(
            f"{path}: version {name} is incomplete", hint="rebuild with `indexctl index build`"
        )
    idmap_path = path / _v.IDMAP_FILE
    index_path = path / _v.INDEX_FILE
    if verify:
        for label, file, key in (
            ("id map", idmap_path, "idmap_sha256"),
            ("index", index_path, "index_sha256"),
        ):
            want = manifest.get(key)
            got = file_sha256(file)
            if want != got:
                raise IndexMismatchError(
                    f"{file}: {label} sha256 {got[:16]}… does not match version.json {key} "
                    f"{str(want)[:16]}… (version {name})",
                    hint="the files were changed after the build: rebuild with `indexctl index build` "
                    "or re-export with `indexctl index export-idmap`",
                )
    index = read_version_index(path, manifest, verify=verify)
    if index.ntotal != manifest.get("ntotal"):
        raise IndexMismatchError(
            f"{index_path}: index holds {index.ntotal} vectors but version.json says "
            f"{manifest.get('ntotal')}",
            hint="rebuild with `indexctl index build`",
        )
    if verify:
        check_idmap(index, read_idmap(idmap_path), source=str(idmap_path))
    op = manifest.get("operating_point") or "" if operating_point is None else operating_point
    k_factor = apply_operating_point(index, op)
    return LoadedIndex(name, path, manifest, index, op, k_factor)
