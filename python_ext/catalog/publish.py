"""Publish or roll back an index version and keep the catalog consistent with it.

:func:`python_ext.index.versions.publish` / ``rollback`` flip ``faiss/CURRENT`` only; the catalog
then still describes the previous version. :func:`publish_version` and :func:`rollback_version`
(what ``indexctl index publish|rollback`` call) flip and then, under the same writer lock,
refresh the catalog when one exists (the default), so a reader never sees a catalog that
disagrees with what is published for longer than the refresh takes. With ``refresh=False`` the
catalog is left as it was and :func:`python_ext.catalog.status.catalog_status` (and
``indexctl search``) report it stale until ``indexctl catalog refresh`` runs.
"""

from __future__ import annotations

import os
from typing import Any

from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.errors import CatalogError
from python_ext.index import versions
from python_ext.lock import writer_lock
from python_ext.progress import NULL_PROGRESS, Reporter


def publish_version(
    data_root: DataRootLike,
    version: str,
    *,
    force: bool = False,
    refresh: bool = True,
    db_path: str | os.PathLike[str] | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> versions.PublishResult:
    """Publish ``version`` and refresh the catalog (see the module docstring).

    :param force: publish a version built from other chunks than the current ones.
    :param refresh: refresh the catalog after the flip when a catalog exists (default True).
    :param db_path: the catalog file (default ``$CODEINTEL_DB_PATH`` or ``<data root>/db/…``).
    :raises InvalidVersionNameError: ``version`` is not a version name.
    :raises VersionNotFoundError: no such complete version.
    :raises IndexMismatchError: built from other chunks (without ``force``).
    :raises CatalogError: the refresh failed; the version *is* published, the message says so.
    """
    root = resolve_data_root(data_root)
    with writer_lock(root.root, f"index publish {version}"):
        result = versions.publish(root, version, force=force)
        result.catalog = _refresh_after(root, result, refresh, db_path, progress)
    return result


def rollback_version(
    data_root: DataRootLike,
    *,
    force: bool = False,
    refresh: bool = True,
    db_path: str | os.PathLike[str] | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> versions.PublishResult:
    """Roll back to the newest older version and refresh the catalog (as :func:`publish_version`).

    :raises VersionNotFoundError: nothing published, or no older version.
    :raises IndexMismatchError: that version was built from other chunks (without ``force``).
    :raises CatalogError: the refresh failed; the rollback *is* done, the message says so.
    """
    root = resolve_data_root(data_root)
    with writer_lock(root.root, "index rollback"):
        result = versions.rollback(root, force=force)
        result.catalog = _refresh_after(root, result, refresh, db_path, progress)
    return result


def _refresh_after(
    root: DataRoot,
    result: versions.PublishResult,
    refresh: bool,
    db_path: str | os.PathLike[str] | None,
    progress: Reporter,
) -> dict[str, Any]:
    from pathlib import Path

    from python_ext.catalog.refresh import refresh_catalog

    target = Path(db_path).expanduser().resolve() if db_path else root.db_path
    if not refresh:
        return {"refreshed": False, "reason": "--no-refresh-catalog: the catalog is stale until refreshed"}
    if not target.is_file():
        return {"refreshed": False, "reason": f"no catalog at {target}"}
    try:
        summary = refresh_catalog(root, db_path=target, progress=progress).to_dict()
    except CatalogError as exc:
        raise CatalogError(
            f"index version {result.published} is published, but the catalog refresh failed, so "
            f"{target} still describes {result.previous or 'the previous state'}: {exc.message}",
            hint=(exc.hint or "") + "; then run `indexctl catalog refresh`",
        ) from exc
    return {"refreshed": True, **summary}
