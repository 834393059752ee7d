"""Pydantic validation errors as one line each: field path, what is allowed, what was given.

`format_errors` lives in `nlpbench.errors` (the plugin API's layer, where adapter Configs use it too);
it is re-exported here for the suite schema and for callers that import it from here.
"""
from nlpbench.errors import format_errors

__all__ = ["format_errors"]
