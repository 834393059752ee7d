"""Built-in model adapters, one file each (a long ONNX export beside it: `<name>_onnx.py`); `nlpbench.registry` imports them (all, or one by name;
adapter `hf-classifier` is module `hf_classifier`)."""
BUILTIN = ("bert", "dummy", "hf_classifier", "hf_translator", "lstm", "seq2seq", "transformer")
