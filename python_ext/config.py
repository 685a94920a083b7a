"""Where things live: the data-root layout (docs/contracts.md, "Data root") and the catalog path.

The data root defaults to ``data/`` (relative to the current directory) and can be moved with
the ``CODEINTEL_DATA_ROOT`` environment variable or an explicit ``--data-root``/``--out`` flag.
The catalog database defaults to ``<data root>/db/codeintel.duckdb`` and can be moved with
``CODEINTEL_DB_PATH``. The dbt profile and ``dbt_project.yml`` read the same variables, so the
CLI and plain ``dbt build`` agree.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from python_ext.errors import InvalidVersionNameError

DATA_ROOT_ENV = "CODEINTEL_DATA_ROOT"
DB_PATH_ENV = "CODEINTEL_DB_PATH"
DEFAULT_DATA_ROOT = "data"
#: What an index version name may be: one path segment of letters, digits, ``.``, ``_``, ``-``,
#: not starting with a dot (so never ``..``, a path, or a hidden/staging folder). Names made by
#: ``indexctl index build`` look like ``20261121T103000.123Z-1a2b3c4d``.
VERSION_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
#: The checkout this package lives in (holds ``dbt_project.yml``, ``docs/``, ``.cache/node``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DataRoot:
    """Typed accessors for every path of the data-root layout (docs/contracts.md, "Data root").

    :param root: the data root directory; made absolute on construction.
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).expanduser().resolve())

    # --- ingest facts -------------------------------------------------------------------
    @property
    def chunks_dir(self) -> Path:
        """``vectors/chunks/``: chunk Parquet files (one or many)."""
        return self.root / "vectors" / "chunks"

    @property
    def embed_cache_dir(self) -> Path:
        """``vectors/cache/``: embedding cache keyed by model + content_hash."""
        return self.root / "vectors" / "cache"

    @property
    def modules_path(self) -> Path:
        return self.root / "modules" / "modules.parquet"

    @property
    def symbol_edges_path(self) -> Path:
        return self.root / "symbol_graph" / "symbol_edges.parquet"

    @property
    def scip_occurrences_path(self) -> Path:
        return self.root / "scip" / "scip_occurrences.parquet"

    @property
    def scip_symbols_path(self) -> Path:
        return self.root / "scip" / "scip_symbols.parquet"

    @property
    def ast_nodes_path(self) -> Path:
        """``ast/ast_nodes.parquet``: syntax-tree nodes (declarations and their children)."""
        return self.root / "ast" / "ast_nodes.parquet"

    @property
    def node_to_chunk_path(self) -> Path:
        """``ast/node_to_chunk.parquet``: which chunks each syntax-tree node overlaps."""
        return self.root / "ast" / "node_to_chunk.parquet"

    # --- FAISS index versions -----------------------------------------------------------
    @property
    def faiss_dir(self) -> Path:
        return self.root / "faiss"

    @property
    def versions_dir(self) -> Path:
        """``faiss/versions/<version>/``: one complete index version per folder."""
        return self.root / "faiss" / "versions"

    @property
    def current_file(self) -> Path:
        """``faiss/CURRENT``: the name of the published version (atomic flip)."""
        return self.root / "faiss" / "CURRENT"

    @property
    def current_link(self) -> Path:
        """``faiss/current``: symlink to the published version folder (stable path for dbt)."""
        return self.root / "faiss" / "current"

    def version_dir(self, version: str) -> Path:
        """``faiss/versions/<version>/`` (the name is checked: never a path out of the folder).

        :raises InvalidVersionNameError: ``version`` is not a version name.
        """
        return self.versions_dir / check_version_name(version)

    # --- evaluation ---------------------------------------------------------------------
    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"

    @property
    def queries_path(self) -> Path:
        return self.root / "eval" / "queries.parquet"

    @property
    def pools_dir(self) -> Path:
        return self.root / "eval" / "pools"

    @property
    def runs_path(self) -> Path:
        return self.root / "eval" / "runs.parquet"

    # --- catalog ------------------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        """The dbt-built catalog: ``CODEINTEL_DB_PATH`` or ``<root>/db/codeintel.duckdb``."""
        env = os.environ.get(DB_PATH_ENV)
        return Path(env).expanduser().resolve() if env else self.root / "db" / "codeintel.duckdb"


def check_version_name(name: str, *, what: str = "index version") -> str:
    """Return ``name`` when it is a valid index version name (:data:`VERSION_NAME_PATTERN`).

    :param what: how to call the value in the message (e.g. ``--version``, ``faiss/CURRENT``).
    :raises InvalidVersionNameError: a path, ``..``, an empty or hidden name, odd characters.
    """
    if not isinstance(name, str) or not VERSION_NAME_PATTERN.fullmatch(name):
        raise InvalidVersionNameError(
            f"{what} {name!r} is not an index version name (one folder name of letters, digits, "
            "'.', '_' and '-', not starting with '.')",
            hint="list the versions with `indexctl index versions`",
        )
    return name


#: Anything :func:`resolve_data_root` accepts: a :class:`DataRoot`, a path, or None (the default).
DataRootLike = DataRoot | str | os.PathLike[str] | None


def resolve_data_root(path: DataRootLike = None) -> DataRoot:
    """The one constructor of a :class:`DataRoot`, used once at every entry point.

    :param path: a :class:`DataRoot` (returned as is), a path, or None for
        ``$CODEINTEL_DATA_ROOT`` or else ``data/`` (relative to the current directory).
    """
    if isinstance(path, DataRoot):
        return path
    chosen = path if path is not None else os.environ.get(DATA_ROOT_ENV, DEFAULT_DATA_ROOT)
    return DataRoot(Path(chosen))
