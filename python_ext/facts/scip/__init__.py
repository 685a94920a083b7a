"""SCIP indexes: :mod:`~python_ext.facts.scip.decode` (streaming binary ``index.scip``),
:mod:`~python_ext.facts.scip.json_reader` (``scip print --json``),
:mod:`~python_ext.facts.scip.importer` (occurrences and symbols to Parquet) and
:mod:`~python_ext.facts.scip.indexer` (running scip-python)."""
