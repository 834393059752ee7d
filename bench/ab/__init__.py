"""`nlpbench ab`: a suite's perf cells for two revisions of nlpbench, side by side on one machine.

- `sides`: a git worktree per revision (`--head` defaults to the current working tree);
- `worker`: a standalone script run by path that imports one side's nlpbench from its folders and
  times cells on request (the driver never imports a side's code);
- `client`: the driver's handle on a worker process;
- `run`: the ABBA alternation per cell, the run folder, the exit code;
- `verdict`: ratio of medians with its 99% bootstrap interval, the table, plot and JSON.
"""
