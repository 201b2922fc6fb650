from importlib.metadata import version as _v
try:
    __version__ = _v("hpo-tui")
except Exception:  # running from a source tree that was never installed
    __version__ = "0.0.0"
