"""Built-in model adapters: importing this package registers them (one file each)."""
from importlib import import_module

for _name in ("dummy", "lstm", "transformer", "seq2seq", "bert"):
    try:
        import_module(f"models.{_name}")
    except ModuleNotFoundError as e:  # an adapter file not written yet
        if e.name != f"models.{_name}":
            raise
