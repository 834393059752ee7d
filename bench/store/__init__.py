"""The run folder on disk: the record schema, the append-only records.jsonl store, run folder naming."""
