"""nlpbench: accuracy, BLEU and cost of classic NLP architectures, measured in one run."""

__version__ = "0.1.0"
