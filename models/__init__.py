"""Built-in model adapters, one file each; `bench.registry` imports them (all, or one by name)."""
BUILTIN = ("bert", "dummy", "lstm", "seq2seq", "transformer")
