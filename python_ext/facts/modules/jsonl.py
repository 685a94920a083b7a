"""``modules.jsonl`` input: modules computed elsewhere, one JSON object a line, converted to
``modules.parquet`` (checksummed, so an unchanged input is not converted again)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from python_ext.atomic import atomic_write_json, atomic_write_parquet
from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.contracts import MODULES_SCHEMA
from python_ext.errors import InputError
from python_ext.facts.modules.compute import ModulesResult

_JSONL_REQUIRED = ("module_id", "uri_prefix")
_JSONL_HINT = (
    'one object a line, e.g. {"module_id": "pkg.mod", "uri_prefix": "pkg/mod.py", "language": "python", '
    '"size_loc": 10} (see docs/facts.md)'
)
_JSONL_DEFAULTS: dict[str, Any] = {
    "language": "text",
    "size_loc": 0,
    "cyclomatic": 0.0,
    "doc_cov": 0.0,
    "in_deg": 0,
    "out_deg": 0,
    "centrality": 0.0,
}


def _checksum_path(data_root: DataRoot) -> Path:
    return data_root.modules_path.with_name("modules.source.json")


def convert_modules_jsonl(
    data_root: DataRootLike, jsonl: str | os.PathLike[str], *, force: bool = False
) -> ModulesResult:
    """Convert a ``modules.jsonl`` file (one JSON object a line) into ``modules.parquet``.

    Each object needs ``module_id`` and ``uri_prefix``; the other contract columns default to
    ``language`` "text", 0 / 0.0. Unknown keys are rejected. A checksum of the input is kept in
    ``modules/modules.source.json``: an unchanged input (same sha256) is not converted again
    unless ``force``.

    :raises InputError: unreadable line, missing/invalid field, duplicate ``module_id`` or
        ``uri_prefix`` (the message names the line).
    """
    data_root = resolve_data_root(data_root)
    started = time.perf_counter()
    path = Path(jsonl)
    if not path.is_file():
        raise InputError(f"modules JSONL not found: {path}", hint="pass an existing file to --from-jsonl")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    marker = _checksum_path(data_root)
    if not force and marker.is_file() and data_root.modules_path.is_file():
        try:
            previous = json.loads(marker.read_text())
        except json.JSONDecodeError:
            previous = {}
        if previous.get("sha256") == digest:
            return ModulesResult(
                path=str(data_root.modules_path),
                modules=int(previous.get("modules", 0)),
                import_edges=0,
                source=str(path),
                seconds=round(time.perf_counter() - started, 3),
                skipped=True,
            )
    rows: list[dict[str, Any]] = []
    seen_ids: dict[str, int] = {}
    seen_prefixes: dict[str, int] = {}
    fields = {f.name: f.type for f in MODULES_SCHEMA}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{path}:{lineno}: invalid JSON ({exc.msg})", hint="one JSON object per line"
                ) from exc
            if not isinstance(obj, dict):
                raise InputError(f"{path}:{lineno}: expected a JSON object", hint="one JSON object per line")
            unknown = sorted(set(obj) - set(fields))
            if unknown:
                raise InputError(
                    f"{path}:{lineno}: unknown field(s) {', '.join(unknown)}",
                    hint=f"modules.jsonl fields: {', '.join(fields)}",
                )
            for key in _JSONL_REQUIRED:
                if not isinstance(obj.get(key), str):
                    raise InputError(
                        f"{path}:{lineno}: field {key} is missing or not a string", hint=_JSONL_HINT
                    )
            row = {**_JSONL_DEFAULTS, **obj}
            for key, typ in fields.items():
                value = row[key]
                if pa.types.is_integer(typ) and (isinstance(value, bool) or not isinstance(value, int)):
                    raise InputError(
                        f"{path}:{lineno}: field {key} must be an integer, got {value!r}", hint=_JSONL_HINT
                    )
                if pa.types.is_floating(typ) and (
                    isinstance(value, bool) or not isinstance(value, (int, float))
                ):
                    raise InputError(
                        f"{path}:{lineno}: field {key} must be a number, got {value!r}", hint=_JSONL_HINT
                    )
                if pa.types.is_string(typ) and not isinstance(value, str):
                    raise InputError(
                        f"{path}:{lineno}: field {key} must be a string, got {value!r}", hint=_JSONL_HINT
                    )
            for key, seen in (("module_id", seen_ids), ("uri_prefix", seen_prefixes)):
                if row[key] in seen:
                    raise InputError(
                        f"{path}:{lineno}: duplicate {key} {row[key]!r} (first on line {seen[row[key]]})",
                        hint="module ids and uri prefixes must be unique so a chunk maps to one module",
                    )
                seen[row[key]] = lineno
            rows.append({k: (float(v) if pa.types.is_floating(fields[k]) else v) for k, v in row.items()})
    if not rows:
        raise InputError(f"{path}: no modules (the file is empty)", hint="one JSON object per line")
    atomic_write_parquet(data_root.modules_path, pa.Table.from_pylist(rows, schema=MODULES_SCHEMA))
    atomic_write_json(marker, {"source": str(path.resolve()), "sha256": digest, "modules": len(rows)})
    return ModulesResult(
        path=str(data_root.modules_path),
        modules=len(rows),
        import_edges=0,
        source=str(path),
        seconds=round(time.perf_counter() - started, 3),
    )
