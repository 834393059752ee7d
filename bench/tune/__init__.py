"""The `tune` stage: architectures compared after equal tuning (issue 30).

- `space`: search spaces (the `search_space` beside each adapter's Config; a suite's `tune.space`/`spaces`),
  quasi-random Sobol points and the dotted keys a trial sets;
- `budget`: training FLOPs counted per batch shape, and a trial's budget as `train:` keys;
- `spec`: the suite's `tune:` key, checked;
- `storage`, `journal`, `prune`: the JournalStorage file, Sobol/TPE studies and telling results, the
  MedianPruner a TPE trial's unit reports to;
- `trials`: arms, trial entries and the derived suite their training units run in;
- `study`: the stage itself: Optuna studies in a JournalStorage file, trials and confirmation reruns as
  training units through nlpbench.launch;
- `curves`: the expected-max estimator (Dodge et al. 2019), its bootstrap band, P(A > B);
- `report`: the report's tune tables, curves and the pasteable configs.
"""
