"""Built-in model adapters, one file each (a long ONNX export beside it: `<name>_onnx.py`); `nlpbench.registry` imports them (all, or one by name)."""
BUILTIN = ("bert", "dummy", "lstm", "seq2seq", "transformer")
