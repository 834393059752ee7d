"""The regression gate: `nlpbench compare` and `nlpbench baseline` (compare), the two sides and baseline files
(sides), what must agree before numbers are compared (checks), the kernel fingerprint that picks a quality
cell's rule (fingerprint), the paired statistical rule for another machine (paired), perf timings and cost
(perf), the verdict (verdict) and its console, JSON and Markdown forms (output)."""
