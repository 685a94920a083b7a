"""Index versions on disk: create, list, publish (CURRENT flip), roll back, garbage-collect.

Layout under the data root (docs/contracts.md#layout)::

    faiss/versions/<version>/   index.faiss, faiss_idmap.parquet, version.json,
                                chunk_meta.parquet, bm25/, vectors.npy (not for Flat)
                                (+ tuning.json, tuning_frontier.parquet once tuned)
    faiss/CURRENT               the published version's name (source of truth)
    faiss/current -> versions/<version>   symlink, the stable path the dbt catalog reads

Crash safety: a build writes its files into ``versions/.tmp-<version>/`` and renames the
finished folder to ``versions/<version>`` (one atomic rename); only then is ``CURRENT``
replaced atomically (temp file + rename), and then the symlink. A kill at any point leaves
``CURRENT`` naming a complete version. A stale symlink (kill between the two flips) is repaired
from ``CURRENT`` by every lifecycle call and every load.

Version names are ``YYYYMMDDTHHMMSS.mmmZ-<8 hex>``: UTC creation time to the millisecond plus
a hash of the corpus fingerprint, so names sort by creation time and never collide.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from python_ext import chunkstore
from python_ext.atomic import atomic_symlink, atomic_write_json, atomic_write_text, fsync_dir
from python_ext.config import (
    VERSION_NAME_PATTERN,
    DataRoot,
    DataRootLike,
    check_version_name,
    resolve_data_root,
)
from python_ext.errors import (
    ConfigError,
    CurrentInvalidError,
    IndexMismatchError,
    InvalidVersionNameError,
    VersionNotFoundError,
)
from python_ext.lock import process_alive, writer_lock

INDEX_FILE = "index.faiss"
IDMAP_FILE = "faiss_idmap.parquet"
MANIFEST_FILE = "version.json"
TUNING_FILE = "tuning.json"
FRONTIER_FILE = "tuning_frontier.parquet"
CHUNK_META_FILE = "chunk_meta.parquet"
REQUIRED_FILES = (INDEX_FILE, IDMAP_FILE, MANIFEST_FILE)
STAGING_PREFIX = ".tmp-"
OWNER_FILE = ".owner-pid"


@dataclass(frozen=True)
class VersionEntry:
    """One complete version folder.

    :param version: the folder name.
    :param published: True when ``CURRENT`` names it.
    :param manifest: its parsed version.json.
    """

    version: str
    published: bool
    manifest: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        m = self.manifest
        tuning = m.get("tuning") or {}
        return {
            "version": self.version,
            "published": self.published,
            "created_at": m.get("created_at"),
            "factory": m.get("factory"),
            "metric": m.get("metric"),
            "ntotal": m.get("ntotal"),
            "operating_point": m.get("operating_point"),
            "recall_at_k": tuning.get("recall_at_k"),
            "device": m.get("device"),
        }


def new_version_name(data_root: DataRoot, seed: str) -> str:
    """A fresh version name that sorts after every existing one.

    :param seed: mixed into the hash suffix (e.g. the chunks fingerprint and factory).
    """
    latest = max((p.name for p in _version_dirs(data_root, include_staging=True)), default="")
    while True:
        now = dt.datetime.now(dt.UTC)
        stamp = now.strftime("%Y%m%dT%H%M%S.") + f"{now.microsecond // 1000:03d}Z"
        if stamp > latest.removeprefix(STAGING_PREFIX)[: len(stamp)]:
            break
        time.sleep(0.002)
    suffix = hashlib.sha256(f"{seed}|{stamp}|{os.getpid()}".encode()).hexdigest()[:8]
    return f"{stamp}-{suffix}"


def _version_dirs(data_root: DataRoot, include_staging: bool = False) -> list[Path]:
    if not data_root.versions_dir.is_dir():
        return []
    out = []
    for p in data_root.versions_dir.iterdir():
        if not p.is_dir() or p.is_symlink():
            continue
        if p.name.startswith(STAGING_PREFIX):
            if include_staging:
                out.append(p)
            continue
        if VERSION_NAME_PATTERN.fullmatch(p.name):
            out.append(p)
    return sorted(out)


def staging_dir(data_root: DataRoot, version: str) -> Path:
    """Create and return the private folder a build writes ``version`` into."""
    path = data_root.versions_dir / f"{STAGING_PREFIX}{version}"
    path.mkdir(parents=True, exist_ok=False)
    (path / OWNER_FILE).write_text(str(os.getpid()))
    return path


def commit_staging(data_root: DataRoot, staging: Path, version: str) -> Path:
    """Turn a finished staging folder into ``versions/<version>`` with one atomic rename.

    :raises IndexMismatchError: a required file is missing from the staging folder.
    """
    missing = [f for f in REQUIRED_FILES if not (staging / f).is_file()]
    if missing:
        raise IndexMismatchError(
            f"{staging}: cannot commit version {version}, missing {', '.join(missing)}",
            hint="rebuild with `indexctl index build`",
        )
    (staging / OWNER_FILE).unlink(missing_ok=True)
    final = data_root.version_dir(version)
    os.rename(staging, final)
    fsync_dir(data_root.versions_dir)
    return final


#: Keys every version.json must hold, with their JSON type (docs/index.md lists them all).
MANIFEST_KEYS: dict[str, type | tuple[type, ...]] = {
    "created_at": str,
    "index_name": str,
    "metric": str,
    "dim": int,
    "ntotal": int,
    "idmap_sha256": str,
    "index_sha256": str,
    "embedding_model": str,
}


def parse_manifest(path: Path) -> dict[str, Any]:
    """Read and check one version.json: a JSON object with :data:`MANIFEST_KEYS` typed right.

    :raises IndexMismatchError: unreadable, not JSON, not an object, a key missing or of
        another type (the message names the file and the key).
    """
    hint = "rebuild the version with `indexctl index build` (or restore its version.json)"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(f"{path}: not valid JSON ({exc})", hint=hint) from exc
    if not isinstance(manifest, dict):
        raise IndexMismatchError(
            f"{path}: version.json must be a JSON object, got {type(manifest).__name__}", hint=hint
        )
    for key, kind in MANIFEST_KEYS.items():
        value = manifest.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            what = "missing" if key not in manifest else f"{type(value).__name__} {value!r}"
            expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise IndexMismatchError(f"{path}: key {key!r} is {what}, expected {expected}", hint=hint)
    return manifest


def is_complete(path: Path) -> bool:
    """True when ``path`` holds every required file and a valid version.json (:func:`parse_manifest`)."""
    if not all((path / f).is_file() for f in REQUIRED_FILES):
        return False
    try:
        parse_manifest(path / MANIFEST_FILE)
    except IndexMismatchError:
        return False
    return True


def read_manifest(data_root: DataRoot, version: str) -> dict[str, Any]:
    """Parsed, checked version.json of ``version`` (see :func:`parse_manifest`).

    :raises VersionNotFoundError: the version folder or its manifest does not exist.
    :raises IndexMismatchError: the manifest is not valid.
    """
    path = data_root.version_dir(version) / MANIFEST_FILE
    if not path.is_file():
        raise VersionNotFoundError(
            f"index version {version!r} not found under {data_root.versions_dir}",
            hint="list versions with `indexctl index versions`",
        )
    return parse_manifest(path)


def write_manifest(directory: Path, manifest: dict[str, Any]) -> Path:
    """Write version.json into ``directory`` atomically."""
    return atomic_write_json(directory / MANIFEST_FILE, manifest)


def read_current(data_root: DataRoot) -> str | None:
    """The raw name in ``CURRENT`` (None when the file does not exist); not checked, no repair.

    An empty file gives ``""``: readers must not take that for "nothing published" (see
    :func:`published_version`).
    """
    try:
        return data_root.current_file.read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        return None


def published_version(data_root: DataRoot) -> str | None:
    """The version ``CURRENT`` names, checked: None only when ``CURRENT`` does not exist.

    This is the single source of truth of what is published; the ``current`` symlink is derived
    from it (and repaired by :func:`current_version`), never read.

    :raises CurrentInvalidError: ``CURRENT`` is empty, is not a version name (a path, ``..``), or
        names a version folder that is missing or incomplete.
    """
    name = read_current(data_root)
    if name is None:
        return None
    hint = (
        "publish a complete version with `indexctl index publish VERSION` (see `indexctl index "
        "versions`), or rebuild with `indexctl index build`"
    )
    if not name:
        raise CurrentInvalidError(f"{data_root.current_file} is empty: it names no version", hint=hint)
    try:
        folder = data_root.version_dir(name)
    except InvalidVersionNameError as exc:
        raise CurrentInvalidError(
            f"{data_root.current_file} holds {name!r}, which is not an index version name", hint=hint
        ) from exc
    if not is_complete(folder):
        raise CurrentInvalidError(
            f"{data_root.current_file} names version {name!r} but {folder} is missing or incomplete",
            hint=hint,
        )
    return name


def repair_link(data_root: DataRoot, name: str | None = None) -> bool:
    """Point ``faiss/current`` at ``versions/<CURRENT>`` if it points elsewhere; True if changed.

    Only a valid, complete published version is linked (an invalid ``CURRENT`` leaves the link
    alone). After re-pointing, ``CURRENT`` is read again and the link follows it if a publish
    flipped it meanwhile, so a reader's repair never leaves the link behind a writer's flip.

    :param name: the published version when the caller already checked it.
    """
    changed = False
    for _ in range(3):
        try:
            want_name = name if name is not None else published_version(data_root)
        except CurrentInvalidError:
            return changed
        if want_name is None:
            return changed
        want = f"versions/{want_name}"
        link = data_root.current_link
        try:
            if os.readlink(link) == want:
                return changed
        except OSError:
            pass
        if link.is_dir() and not link.is_symlink():
            raise ConfigError(
                f"{link} is a folder, not the symlink to the published version (was the data root "
                "copied with symlinks followed, e.g. shutil.copytree or cp -L?)",
                hint=f"remove that folder (CURRENT says which version is published, and the link is "
                f"made again from it): rm -r {link}; copy data roots with cp -a or rsync -a",
            )
        atomic_symlink(want, link)
        changed = True
        name = None  # re-read CURRENT: follow a flip that happened meanwhile
    return changed


def current_version(data_root: DataRoot) -> str:
    """The published version (repairing the ``current`` symlink from CURRENT if needed).

    :raises VersionNotFoundError: nothing is published.
    :raises CurrentInvalidError: CURRENT is empty, not a version name, or names a missing or
        incomplete version (a subclass of :class:`VersionNotFoundError`).
    """
    name = published_version(data_root)
    if name is None:
        raise VersionNotFoundError(
            f"no index version is published ({data_root.current_file} does not exist)",
            hint="build one with `indexctl index build`",
        )
    repair_link(data_root, name)
    return name


def list_versions(data_root: DataRootLike) -> list[VersionEntry]:
    """Every complete version, oldest first (staging and broken folders are skipped).

    Never fails on a bad ``CURRENT``: then no entry is marked published and the symlink is left
    alone (see :func:`current_problem` for the reason).
    """
    data_root = resolve_data_root(data_root)
    try:
        published = published_version(data_root)
    except CurrentInvalidError:
        published = None
    if published is not None:
        repair_link(data_root, published)
    out = []
    for path in _version_dirs(data_root):
        if is_complete(path):
            manifest = parse_manifest(path / MANIFEST_FILE)
            out.append(VersionEntry(path.name, path.name == published, manifest))
    return out


def current_problem(data_root: DataRootLike) -> str | None:
    """Why ``CURRENT`` is invalid (the message of :class:`CurrentInvalidError`), or None."""
    try:
        published_version(resolve_data_root(data_root))
    except CurrentInvalidError as exc:
        return exc.message
    return None


@dataclass
class VersionDetails:
    """One version as ``indexctl index info`` shows it: its manifest and where it lives."""

    manifest: dict[str, Any]
    published: bool
    path: str
    files: list[str]

    def to_dict(self) -> dict[str, Any]:
        """version.json's keys plus ``published``, ``path`` and ``files``."""
        return {**self.manifest, "published": self.published, "path": self.path, "files": self.files}


@dataclass
class PublishResult:
    """What ``publish``/``rollback`` did: the version now published and the one before it.

    :param catalog: what happened to the catalog (set by
        :func:`python_ext.catalog.publish.publish_version`: the refresh summary, or why the
        catalog was not refreshed); None from the plain index-stage functions.
    """

    published: str
    previous: str | None
    catalog: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GcResult:
    """What ``gc`` removed and kept (the published version is always kept)."""

    removed: list[str]
    kept: list[str]
    published: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe(data_root: DataRootLike, version: str | None = None) -> VersionDetails:
    """The manifest of ``version`` (default: the published one) plus where it lives.

    :raises VersionNotFoundError: no such (or no published) version.
    """
    data_root = resolve_data_root(data_root)
    name = (
        check_version_name(version, what="--version") if version is not None else current_version(data_root)
    )
    manifest = read_manifest(data_root, name)
    folder = data_root.version_dir(name)
    files = sorted(
        p.name + ("/" if p.is_dir() else "") for p in folder.iterdir() if not p.name.startswith(".")
    )
    return VersionDetails(manifest, read_current(data_root) == name, str(folder), files)


def publish(data_root: DataRootLike, version: str, *, force: bool = False) -> PublishResult:
    """Make ``version`` the published one: flip CURRENT atomically, then the symlink.

    The catalog is not refreshed here (``indexctl index publish`` does it by default; see
    :func:`python_ext.catalog.status.catalog_status` for how a stale catalog is detected).

    :param force: publish even when the version was built from other chunks than the data
        root holds now (its hits would then name chunks that no longer exist).
    :raises InvalidVersionNameError: ``version`` is not a version name (exit 2).
    :raises VersionNotFoundError: ``version`` is not a complete version folder.
    :raises IndexMismatchError: the version's ``chunks_fingerprint`` differs from the chunks
        now (unless ``force``).
    :raises DataRootLockedError: another writer holds the data root's lock.
    """
    data_root = resolve_data_root(data_root)
    path = data_root.version_dir(check_version_name(version, what="version"))
    if not is_complete(path):
        raise VersionNotFoundError(
            f"index version {version!r} not found (or incomplete) under {data_root.versions_dir}",
            hint="list versions with `indexctl index versions`",
        )
    with writer_lock(data_root, f"index publish {version}"):
        if not force:
            check_chunks_match(data_root, version)
        previous = read_current(data_root) or None
        atomic_write_text(data_root.current_file, version + "\n")
        pause_point("after_flip")
        atomic_symlink(f"versions/{version}", data_root.current_link)
    return PublishResult(published=version, previous=previous)


def check_chunks_match(data_root: DataRoot, version: str) -> None:
    """Refuse a version built from other chunks than the data root holds now.

    :raises IndexMismatchError: its version.json ``chunks_fingerprint`` is not the fingerprint
        of the current chunks (:func:`python_ext.chunkstore.chunks_fingerprint`).
    """
    recorded = read_manifest(data_root, version).get("chunks_fingerprint")
    now = chunkstore.chunks_fingerprint(data_root)
    if recorded != now:
        raise IndexMismatchError(
            f"index version {version} was built from other chunks than {data_root.chunks_dir} holds "
            f"now (chunks_fingerprint {str(recorded)[:19]}… vs {now[:19]}…): its search hits would "
            "name chunks that no longer exist or have changed",
            hint="build a new version with `indexctl index build`, re-ingest the chunks that version "
            "was built from, or pass --force to publish it anyway",
        )


def rollback(data_root: DataRootLike, *, force: bool = False) -> PublishResult:
    """Publish the newest complete version older than the published one.

    :param force: roll back even to a version built from other chunks than the current ones.
    :raises VersionNotFoundError: nothing is published, or no older version exists.
    :raises IndexMismatchError: that version was built from other chunks (unless ``force``).
    """
    data_root = resolve_data_root(data_root)
    with writer_lock(data_root, "index rollback"):
        current = current_version(data_root)
        older = [v.version for v in list_versions(data_root) if v.version < current]
        if not older:
            raise VersionNotFoundError(
                f"no version older than the published {current} to roll back to",
                hint="list versions with `indexctl index versions`, or publish one with "
                "`indexctl index publish`",
            )
        return publish(data_root, older[-1], force=force)


def gc(data_root: DataRootLike, keep: int = 3) -> GcResult:
    """Delete old versions, keeping the ``keep`` newest and always the published one.

    Also removes staging folders left by killed builds (their owner process is gone) and
    folders that are incomplete. Destructive: deleted versions cannot be published again.
    Refuses to run while ``CURRENT`` is invalid (empty, a path, or naming a missing version):
    then nothing can tell which version must survive.

    :param keep: how many of the newest complete versions to keep (besides the published one).
    :raises ConfigError: ``keep`` is negative (exit 2).
    :raises CurrentInvalidError: ``CURRENT`` exists but names no complete version.
    """
    data_root = resolve_data_root(data_root)
    if keep < 0:
        raise ConfigError(f"--keep must be >= 0 (got {keep})", hint="use --keep 3")
    with writer_lock(data_root, "index gc"):
        try:
            published = published_version(data_root)
        except CurrentInvalidError as exc:
            raise CurrentInvalidError(
                f"index gc refused: {exc.message}; nothing was deleted",
                hint=f"{exc.hint}; then run gc again",
            ) from exc
        if published is not None:
            repair_link(data_root, published)
        complete = [v.version for v in list_versions(data_root)]
        keep_set = set(complete[-keep:] if keep else []) | ({published} if published else set())
        removed = []
        for name in complete:
            if name not in keep_set:
                shutil.rmtree(data_root.version_dir(name))
                removed.append(name)
        for path in _version_dirs(data_root, include_staging=True):
            if path.name in keep_set or path.name in complete:
                continue
            if path.name.startswith(STAGING_PREFIX) and _owner_alive(path):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return GcResult(removed=removed, kept=sorted(keep_set), published=published)


def _owner_alive(path: Path) -> bool:
    try:
        pid = int((path / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return False
    return process_alive(pid)


PAUSE_ENV = "INDEXCTL_PAUSE_AT"


def pause_point(step: str) -> None:
    """Crash-test hook: with ``INDEXCTL_PAUSE_AT=<step>`` announce the step on stderr and wait.

    The kill-mid-build tests use it to SIGKILL a real build at a known step. It does nothing
    unless the variable names this step.
    """
    if os.environ.get(PAUSE_ENV) != step:
        return
    import sys

    sys.stderr.write(f"paused at {step} (pid {os.getpid()})\n")
    sys.stderr.flush()
    time.sleep(float(os.environ.get("INDEXCTL_PAUSE_SECONDS", "60")))
