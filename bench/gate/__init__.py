"""The regression gate: `nlpbench compare`, baselines."""
