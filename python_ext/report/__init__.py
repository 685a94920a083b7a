"""report stage of python_ext: the catalog as pictures (``indexctl report``)."""
