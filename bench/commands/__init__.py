"""The commands behind the CLI: `run` and `eval`."""
