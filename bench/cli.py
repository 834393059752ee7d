"""The `nlpbench` command line: run, validate, list, report, compare, profile, ab, cache.

Exit codes: 0 success; 1 a regression (compare), a failed required cell, or a run with no `ok` cell;
2 bad input — every problem on its own line, no traceback — and failed writes (a full
disk, a read-only folder); 130 interrupted (Ctrl-C, SIGTERM or SIGHUP).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from nlpbench.errors import BadInput


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run a suite (a path, or a name in suites/)")
    p.add_argument("suite")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. perf.batch_sizes=[1,8] device=cpu")
    p.add_argument("--out", type=Path, help="parent folder for the run folder (default results/runs)")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", help="finish an earlier run: only missing cells run")
    p.add_argument("--force", action="store_true",
                   help="--resume even where the data or the nlpbench code differ (recorded in run.json)")
    p.add_argument("--data-dir", help="base of relative data paths (default $NLPBENCH_DATA)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--trust-remote-code", action="store_true", help="allow params.trust_remote_code: true")
    p.add_argument("--launcher", choices=["inline", "process", "ray", "torchrun"],
                   help="where cells run: training units (launcher) and perf cells (perf.launcher); "
                        "torchrun: perf train_step cells only")  # fmt: skip
    p.add_argument("-j", "--workers", type=int, metavar="N",
                   help="train N units side by side (a process pool unless --launcher says otherwise)")
    p.add_argument("--log-to", metavar="SINK[,SINK]",
                   help="also send the finished run to mlflow, wandb and/or tensorboard (suite key log_to)")
    _add_allow_large(p)
    _add_selection(p)
    p.set_defaults(func=cmd_run)


def _add_allow_large(p) -> None:
    p.add_argument("--allow-large", action="store_true",
                   help="start a plan above the sanity limits (100,000 perf cells, an estimated week)")


def _add_selection(p) -> None:
    """--models/--tasks (bench/suite/selection.py). KEY=VALUE overrides may come before or after options (see main)."""
    p.add_argument("--models", metavar="NAME[,NAME]", help="only these models (labels, as in the tables)")
    p.add_argument("--tasks", metavar="NAME[,NAME]", help="only these tasks (labels, as in the tables)")


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="score a finished run's saved models again (new data by override); no training")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. tasks.0.dataset.files.test=new.tsv")
    p.add_argument("--out", type=Path, help="parent folder for the new run folder (default results/runs)")
    p.add_argument("--data-dir", help="base of relative data paths (default $NLPBENCH_DATA)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_selection(p)
    p.set_defaults(func=cmd_eval)


def _add_validate(sub) -> None:
    p = sub.add_parser("validate", help="check a suite, its overrides and its data without running it")
    p.add_argument("suite")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--data-dir")
    _add_allow_large(p)
    _add_selection(p)
    p.set_defaults(func=cmd_validate)


def _add_list(sub) -> None:
    p = sub.add_parser("list", help="what is registered")
    p.add_argument("what", nargs="?", default="adapters", choices=["adapters", "suites", "datasets", "metrics"])
    p.set_defaults(func=cmd_list)


def cmd_run(args) -> int:
    from nlpbench.commands.run import run

    if args.trust_remote_code:
        os.environ["NLPBENCH_TRUST_REMOTE_CODE"] = "1"
    progress = not args.no_progress and sys.stderr.isatty()
    return run(
        args.suite, [*args.overrides, *launcher_override(args)], out=args.out, resume=args.resume,
        data_dir=args.data_dir, progress=progress, argv=sys.argv, force=args.force, allow_large=args.allow_large,
        **selected(args),
    )  # fmt: skip


def selected(args) -> dict:
    from nlpbench.suite.selection import names

    return {"tasks": names(args.tasks), "models": names(args.models)}


def cmd_eval(args) -> int:
    from nlpbench.commands.eval import eval_run

    progress = not args.no_progress and sys.stderr.isatty()
    return eval_run(args.run_dir, args.overrides, out=args.out, data_dir=args.data_dir, progress=progress,
                    argv=sys.argv, **selected(args))  # fmt: skip


def launcher_override(args) -> list[str]:
    """`--launcher X` as the overrides `launcher=X` (training units) and `perf.launcher=X` (when the suite has
    perf cells); `--workers N` as `workers=N`; `--log-to a,b` as `log_to=[a,b]`. torchrun places perf cells only."""
    out = [] if args.workers is None else [f"workers={args.workers}"]
    if getattr(args, "log_to", None):
        from nlpbench.sinks import parse as sinks

        out.append(f"log_to=[{','.join(sinks(args.log_to))}]")
    if not args.launcher:
        return out
    from nlpbench.suite.schema import read_suite

    has_perf = read_suite(args.suite, args.overrides).get("perf") is not None
    if args.launcher == "torchrun" and not has_perf:
        raise BadInput(f"--launcher torchrun: suite '{args.suite}' has no perf section; torchrun places perf train_step cells only")
    if args.launcher != "torchrun":
        out.append(f"launcher={args.launcher}")
    return out + ([f"perf.launcher={args.launcher}"] if has_perf else [])


def cmd_validate(args) -> int:
    from nlpbench.commands.validate import validate_selected
    from nlpbench.data.checks import overlap_line

    suite, data = validate_selected(args.suite, args.overrides, args.data_dir, **selected(args))  # every problem
    for task, td in zip(suite.tasks, data):
        sizes = ", ".join(f"{s} {len(ds)}" for s, ds in td.splits.items())
        print(f"{task.label}: {td.dataset} ({sizes}); models: {', '.join(m.label for m in task.models)}")
        print(overlap_line(task.label, td.overlap) or f"{task.label}: no validation or test split to check against train")
    if suite.tasks:
        from nlpbench.launch.units import quality_launcher
        from nlpbench.launch.process import worker_count, worker_threads
        from nlpbench.quality.units import plan

        n, where = len(plan(suite, data, set())), quality_launcher(suite)
        if where == "process":
            workers = worker_count(suite)
            where += f", {workers} workers x {worker_threads(suite, workers)} thread(s)"
        print(f"training: {n} unit(s) ({where})")
    if any(t.tune for t in suite.tasks):
        from nlpbench.tune.study import plan_line

        print(plan_line(suite))
    if suite.perf:
        from nlpbench.perf.plan import perf_models

        n = len(perf_models(suite, data))
        print(f"perf: {n} model(s) x modes {suite.perf.modes} x batch {suite.perf.batch_sizes} x seq {suite.perf.seq_lens}")
    if suite.serve:
        print(f"serve: {', '.join(suite.serve.models) or 'every model'} x {suite.serve.scenarios} under MLPerf LoadGen")
    from nlpbench.suite.plan import check_size, make_plan

    plan = make_plan(suite, data)  # counts and a time estimate (issue 33 item 8)
    print("\n".join(plan.lines()))
    check_size(plan, args.allow_large)
    print(f"suite '{suite.name}' is valid")
    return 0


def cmd_list(args) -> int:
    if args.what == "adapters":
        from nlpbench.registry import adapters

        for name, cls in adapters().items():
            fields = ", ".join(f"{f.name}={f.default!r}" for f in dataclasses.fields(cls.Config) if f.default is not dataclasses.MISSING)
            print(f"{name:12s} tasks: {', '.join(cls.tasks):28s} params: {fields}")
    elif args.what == "suites":
        from nlpbench.suite.schema import SUITES_DIR

        for path in sorted(SUITES_DIR.glob("*.yaml")):
            first = path.read_text().splitlines()[0].lstrip("# ").strip()
            print(f"{path.stem:16s} {first}")
    elif args.what == "datasets":
        from nlpbench.data.generators import GENERATORS

        for name, (task, _) in GENERATORS.items():
            print(f"synthetic:{name:12s} {task}")
        print("files        TSV/CSV/JSONL/Parquet, or parallel text (.gz ok) for translation; see README")
        print("hub          a datasets hub name (needs network)")
    else:
        from nlpbench.metrics import available

        print("\n".join(available()))
    return 0


class _Version(argparse.Action):
    """`--version`: the installed distribution's version (importlib.metadata), looked up only when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"nlpbench {version('nlpbench')}")
        except PackageNotFoundError:
            print("nlpbench (not installed: no distribution metadata)")
        parser.exit()


def _add_verbosity(p) -> None:
    """-v/-q on the top level and on every subcommand (SUPPRESS: a subcommand's default must not undo
    `nlpbench -v run ...`)."""
    p.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                   help="more console output (-v: debug lines, e.g. every finished cell)")  # fmt: skip
    p.add_argument("-q", "--quiet", action="count", default=argparse.SUPPRESS,
                   help="less console output: warnings and errors only (the summary table still prints)")  # fmt: skip


def verbosity(args) -> int:
    return getattr(args, "verbose", 0) - getattr(args, "quiet", 0)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="nlpbench", description="Accuracy, BLEU and cost of classic NLP models in one run.")
    ap.add_argument("--version", action=_Version, help="print nlpbench's version and exit")
    _add_verbosity(ap)
    sub = ap.add_subparsers(dest="command", required=True)
    _add_run(sub)
    _add_validate(sub)
    _add_eval(sub)
    _add_list(sub)
    from nlpbench.ab import command as ab
    from nlpbench.gate import compare
    from nlpbench.perf import profile
    from nlpbench.report import write as report

    report.register(sub)
    compare.register(sub)
    profile.register(sub)
    ab.register(sub)
    from nlpbench.commands import cache

    cache.register(sub)
    for command in sub.choices.values():
        _add_verbosity(command)
    return ap


def parse(argv: list[str] | None):
    """Options and KEY=VALUE overrides in any order: argparse gives up on a positional after an
    option (`run quick --no-progress a.b=1`), so such leftovers join the overrides
    (parse_intermixed_args can't be used: it refuses subcommands)."""
    ap = parser()
    args, extra = ap.parse_known_args(argv)
    stray = [a for a in extra if a.startswith("-") or "=" not in a or not hasattr(args, "overrides")]
    if stray:
        ap.error(f"unrecognized arguments: {' '.join(stray)}")
    if extra:
        args.overrides = [*args.overrides, *extra]
    return args


def main(argv: list[str] | None = None) -> int:
    from nlpbench.launch.lifecycle import interrupt_on_signals
    from nlpbench.store.disk import disk_error, is_disk_error

    args = parse(argv)
    from nlpbench.context import configure_logging

    configure_logging(verbosity(args))
    try:
        with interrupt_on_signals():  # SIGTERM and SIGHUP end every command as Ctrl-C does
            return args.func(args)
    except BadInput as e:
        return bad_input(e)
    except OSError as e:
        if not is_disk_error(e):
            raise
        return bad_input(disk_error(e))  # a full disk or a read-only folder: one line naming the file
    except KeyboardInterrupt:
        print("nlpbench: interrupted", file=sys.stderr)
        return 130


def bad_input(e: BadInput) -> int:
    for line in e.problems:
        print(f"nlpbench: {line}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
