def __getattr__(name: str):
    # The version is looked up when asked for: importlib.metadata costs every command
    # ~50 ms at start-up, and only `--version` and reports print it.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("hpo-tui")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0.0.0"
    raise AttributeError(f"module 'hpo_tui' has no attribute {name!r}")
