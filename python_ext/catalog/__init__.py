"""catalog stage of python_ext."""
