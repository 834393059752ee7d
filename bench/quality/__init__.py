"""Quality cells: the training loop, training units, scoring with intervals, predictions, trained-model rebuilds, time-to-target (the statistics live in `nlpbench.metrics.stats`)."""
