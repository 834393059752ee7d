"""Built-in model adapters, one file each; `nlpbench.registry` imports them (all, or one by name)."""
BUILTIN = ("bert", "dummy", "lstm", "seq2seq", "transformer")
