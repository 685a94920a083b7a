"""The facts stage: code-intelligence facts of a repository, besides its chunks.

* :mod:`python_ext.facts.scip` — SCIP indexes: decode (binary and JSON), import to Parquet,
  run scip-python;
* :mod:`python_ext.facts.modules` — modules, their metrics and the module import graph;
* :mod:`python_ext.facts.graph` — the symbol graph;
* :mod:`python_ext.facts.builder` — all of them in one call, and with the chunk ingest
  (:func:`~python_ext.facts.builder.ingest_with_facts`, what ``indexctl ingest`` runs).
"""
