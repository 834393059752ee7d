"""The shipped suites (YAML), installed as package data: `nlpbench run quick` finds them by name."""
