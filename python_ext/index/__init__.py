"""FAISS index stage: build, tune, version, publish and load (see docs/index.md).

* :func:`python_ext.index.build.build_index` — validated streaming build of a new version
  (FAISS index, id map, chunk metadata, BM25 index, exact vectors);
* :func:`python_ext.index.tune.tune_index` — operating point (fastest at recall@k ≥ target),
  ``k_factor`` of the exact re-rank included;
* :mod:`python_ext.index.versions` — ``CURRENT`` + ``current`` symlink lifecycle;
* :func:`python_ext.index.load.load_index` — verified load at the recorded operating point;
* :mod:`python_ext.index.bm25`, :mod:`python_ext.index.vectors`, :mod:`python_ext.index.refine`
  — the version's lexical index, its exact vectors and the exact re-rank;
* :mod:`python_ext.index.idmap` — the ``faiss_idmap`` contract;
* :mod:`python_ext.index.gpu` — the CPU/GPU switch.

Searching a version is :mod:`python_ext.search`. Submodules are imported on demand so
``import python_ext`` stays light.
"""
