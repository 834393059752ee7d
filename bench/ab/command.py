"""The `nlpbench ab` subcommand's arguments (nlpbench.ab.run does the work, imported only when it runs)."""

from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("ab", help="a suite's perf cells for two revisions side by side: exit 1 on a regression "
                                  "(3: only inconclusive cells, with --fail-on-inconclusive)")
    p.add_argument("suite")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. perf.batch_sizes=[1,8] perf.min_seconds=0.5")
    p.add_argument("--base", required=True, metavar="REV", help="the revision to compare against (of this repo)")
    p.add_argument("--head", metavar="REV", help="the revision under test (default: this directory's working tree)")
    p.add_argument("--tolerance", type=float, default=0.05, metavar="X",
                   help="a regression needs the 99%% interval of head/base wholly above 1 + X (default 0.05)")
    p.add_argument("--json", type=Path, metavar="FILE",
                   help='write {"ok", "inconclusive": [cells], "cells": [{"cell", "ratio", "ci99", "verdict", "legs", '
                        '"seconds", "extra_seconds"}]}')
    p.add_argument("--max-extra-seconds", type=float, default=30.0, metavar="S",
                   help="an inconclusive cell (its interval straddles 1 +- tolerance) gets more ABBA legs until it "
                        "decides or this many more seconds pass (default 60; 0: no extra sampling)")
    p.add_argument("--fail-on-inconclusive", action="store_true",
                   help="exit 3 when cells stay inconclusive (and none regressed); default: they pass, with a loud "
                        "INCONCLUSIVE line")
    p.add_argument("--quality", action="store_true",
                   help="the suite's quality cells too: each side trains and scores them with its own code (after "
                        "the perf cells), compared by the gate's rules; a quality regression fails the run")
    p.add_argument("--quality-tolerance", action="append", metavar="METRIC=X",
                   help="with --quality: a fixed allowed drop (e.g. accuracy=0: exact); default: base's 95%% "
                        "lower bound")
    p.add_argument("--out", type=Path, help="parent folder for the run folder (default results/runs)")
    p.add_argument("--data-dir", help="base of relative data paths (default $NLPBENCH_DATA)")
    p.add_argument("--models", metavar="NAME[,NAME]", help="only these models (labels, as in the tables)")
    p.add_argument("--tasks", metavar="NAME[,NAME]", help="only these tasks (labels, as in the tables)")
    p.set_defaults(func=cmd_ab)


def cmd_ab(args) -> int:
    from nlpbench.ab.run import run_ab
    from nlpbench.suite.selection import names

    return run_ab(args.suite, args.base, args.head, args.overrides, out=args.out, tolerance=args.tolerance,
                  json_path=args.json, data_dir=args.data_dir, models=names(args.models), tasks=names(args.tasks),
                  argv=sys.argv, quality=args.quality, quality_tolerances=_quality_tolerances(args),
                  max_extra_s=args.max_extra_seconds, fail_on_inconclusive=args.fail_on_inconclusive)  # fmt: skip


def _quality_tolerances(args) -> dict[str, float]:
    from nlpbench.errors import BadInput
    from nlpbench.gate.compare import parse_tolerances

    if args.quality_tolerance and not args.quality:
        raise BadInput("--quality-tolerance: only with --quality (it sets the quality cells' allowed drop)")
    return parse_tolerances(args.quality_tolerance, "--quality-tolerance")
