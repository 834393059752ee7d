"""The suite file: its schema (pydantic), dotted overrides, --models/--tasks selection, one-line schema errors."""
