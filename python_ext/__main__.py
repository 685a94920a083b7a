"""``python -m python_ext`` runs the ``indexctl`` CLI."""

from python_ext.cli import run

if __name__ == "__main__":
    run()
