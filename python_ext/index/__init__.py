"""FAISS index stage: build, tune, version, publish, load and search (see docs/index.md).

* :func:`python_ext.index.build.build_index` — validated streaming build of a new version;
* :func:`python_ext.index.tune.tune_index` — operating point (fastest at recall@k ≥ target);
* :mod:`python_ext.index.versions` — ``CURRENT`` + ``current`` symlink lifecycle;
* :func:`python_ext.index.load.load_index` — verified load at the recorded operating point;
* :func:`python_ext.index.search.search_text` — embed, search, hydrate;
* :mod:`python_ext.index.idmap` — the ``faiss_idmap`` contract;
* :mod:`python_ext.index.gpu` — the CPU/GPU switch.

Submodules are imported on demand so ``import python_ext`` stays light.
"""
