"""Built-in model adapters: importing this package registers them (one file each)."""
from models import bert, dummy, lstm, seq2seq, transformer  # noqa: F401
