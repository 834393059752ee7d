"""The `tune` stage: architectures compared after equal tuning (issue 30).

- `space`: search spaces (the `search_space` beside each adapter's Config; a suite's `tune.space`/`spaces`),
  quasi-random Sobol points and the dotted keys a trial sets;
- `budget`: training FLOPs counted per batch shape, and a trial's budget as `train:` keys;
- `spec`: the suite's `tune:` key, checked;
- `study`: the stage itself: Optuna studies in a JournalStorage file, trials and confirmation reruns as
  training units through nlpbench.launch;
- `curves`: the expected-max estimator (Dodge et al. 2019), its bootstrap band, P(A > B);
- `report`: the report's tune tables, curves and the pasteable configs.
"""
