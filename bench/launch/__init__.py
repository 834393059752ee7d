"""Where work runs, one launcher family: every stage of a run (training units, deployment variants, serve
cells, perf cells and their rounds) is a list of jobs (`jobs.Job`) run by one executor — inline, `process`
(fresh interpreters, `python -m nlpbench.launch.child`), `ray` — through `jobs.execute`, which owns resume,
the OOM chain and the records of jobs that came back with none. `units` and `cells` build the jobs of
training and perf; `torchrun` runs a train_step cell under DDP; `lifecycle` ends workers with their driver."""
