"""What the stages know about languages, shared by ingest, facts, the index, search and
evaluation.

* :mod:`python_ext.lang.detect` — a file's language from its name;
* :mod:`python_ext.lang.parsers` — tree-sitter grammars and cached parsers;
* :mod:`python_ext.lang.nodes` — the per-language node tables and the queries that find them;
* :mod:`python_ext.lang.symbols` — qualified names of definitions (``chunks.symbols``);
* :mod:`python_ext.lang.docs` — the one rule for "this definition is documented";
* :mod:`python_ext.lang.tokens` — code-aware tokens (identifiers split on case and underscores)
  for the BM25 index, its queries and name-based evaluation queries.
"""
