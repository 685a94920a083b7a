"""ingest stage of python_ext."""
