"""Where work runs: training units in a process pool or on Ray (with the worker entry and live status), perf cells in a fresh process, on Ray or under torchrun."""
