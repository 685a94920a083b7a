"""index stage of python_ext."""
