"""Exception classes raised by the ``python_ext`` library.

Every error the library raises on purpose derives from :class:`IndexctlError`. The CLI turns
them into an ``Error: …`` line (plus the ``hint``) and a non-zero exit code; anything else is a
bug and shows a traceback only with ``INDEXCTL_DEBUG=1``.

Exit codes used by the CLI (see ``python_ext.cli``):

* 1 — a known error (bad input, failed build, integrity problem, another writer holds the lock).
* 2 — a usage error: a bad flag or flag value (Typer/Click's own, or :class:`ConfigError` and its
  subclasses, e.g. a refused ``catalog query`` statement or an invalid version name).
* 3 — a check found problems (``indexctl validate``, failing ``catalog test``, a stale catalog in
  ``catalog status``, a regression under ``eval run --fail-on-regression``).
"""

from __future__ import annotations


class IndexctlError(Exception):
    """Base class for every error the library raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nHint: {self.hint}"


class ConfigError(IndexctlError):
    """A flag, flag value, flag combination, dbt var or environment variable is invalid (exit 2)."""

    exit_code = 2


class QueryRefusedError(ConfigError):
    """``catalog query`` was given SQL that is not exactly one read-only statement."""


class InvalidVersionNameError(ConfigError):
    """A ``--version`` (or the name in ``faiss/CURRENT``) is not a valid index version name."""


class InputError(IndexctlError):
    """An input file or value is unusable; the message names the file, row or field."""


class RepositoryNotFoundError(InputError):
    """The repository path to ingest does not exist or is not a directory."""


class ContractError(InputError):
    """A Parquet file does not match its data contract (types, dims, NaNs, ranges...)."""


class IdCollisionError(IndexctlError):
    """Two different chunks received the same 64-bit chunk id."""


class MissingDependencyError(IndexctlError):
    """An optional package (extra) needed for this operation is not installed."""


class ScipDecodeError(InputError):
    """A SCIP index (binary protobuf or JSON) is malformed or truncated."""


class IndexBuildError(IndexctlError):
    """Building, training or writing a FAISS index failed."""


class IndexMismatchError(IndexctlError):
    """An index file, its id map and/or the chunks disagree (sha256, ntotal, ids)."""


class GpuUnavailableError(IndexctlError):
    """A GPU was required (``--gpu on``) but FAISS sees none."""


class OperatingPointError(InputError):
    """An operating-point / ParameterSpace string is not accepted by the index."""


class VersionNotFoundError(IndexctlError):
    """The requested index version (or a published one) does not exist."""


class CurrentInvalidError(VersionNotFoundError):
    """``faiss/CURRENT`` exists but does not name a complete version (empty, a path, missing)."""


class DataRootLockedError(IndexctlError):
    """Another writer (ingest, build, publish, refresh…) holds the data root's lock."""


class CatalogError(IndexctlError):
    """Building, testing or swapping the dbt/DuckDB catalog failed."""


class EvalInputError(InputError):
    """An evaluation input (queries, run file, pool) is malformed."""


class CheckFailedError(IndexctlError):
    """A validation or integrity check ran and found problems."""

    exit_code = 3


class ScipIndexError(IndexctlError):
    """Running a SCIP indexer (scip-python) failed or produced no index."""


class IndexctlWarning(UserWarning):
    """A warning the library issues on purpose (the CLI prints it as ``Warning: …``)."""


class StaleCatalogWarning(IndexctlWarning):
    """The catalog no longer matches the data root (published version or inputs changed)."""


class UsageError(ConfigError):
    """A flag or argument value is out of range or malformed (exit 2, like Click's usage errors)."""

    exit_code = 2


class NoMatchError(InputError):
    """A search filter, symbol or module matches no chunk (the message says what does exist)."""


class ChunkNotFoundError(InputError):
    """A chunk id is not part of the searched index version."""
