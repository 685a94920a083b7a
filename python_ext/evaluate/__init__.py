"""evaluate stage of python_ext."""
