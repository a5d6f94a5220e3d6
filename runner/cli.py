"""`leaderboard`: a thin command line over the library.

Every `UserError` is caught here and printed as one line, with exit code 1. Any other exception
is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from runner.errors import UserError

Handler = Callable[[argparse.Namespace], int]


def cmd_run(args: argparse.Namespace) -> int:
    """Compose the overrides (a sweep with -m) and benchmark each point."""
    from runner.hardware.calibration import ensure_calibration
    from runner.measure.sweep import run_sweep

    return run_sweep(
        args.overrides,
        multirun=args.multirun,
        calibration=ensure_calibration,
        progress=not args.no_progress,
    )


def cmd_eval(args: argparse.Namespace) -> int:
    """Score models with lm-eval, once per (model revision, eval task, shots, limit)."""
    from runner.accuracy.evaluate import run_eval

    return run_eval(args.overrides, multirun=args.multirun)


def cmd_validate(args: argparse.Namespace) -> int:
    """Check every config and every record; one line per problem."""
    from runner.validate import validate_configs, validate_results

    problems = validate_configs()
    record_count = 0
    warnings: list[str] = []
    notes: list[str] = []
    if args.results is not None or Path("results").is_dir():
        results_problems, warnings, notes, record_count = validate_results(
            args.results or [Path("results")]
        )
        problems += results_problems
    for line in notes:
        print(f"note: {line}", file=sys.stderr)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"validate: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"validate: configs ok, {record_count} record(s) ok")
    return 0


def cmd_clean_interrupted(args: argparse.Namespace) -> int:
    """List and remove what interrupted runs left behind (never a record or its raw data)."""
    from runner.records.load import remove_leftovers

    found = remove_leftovers(args.results, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for path, reason in found:
        print(f"{verb}: {path} ({reason})")
    print(f"clean-interrupted: {verb} {len(found)} leftover file(s) under {args.results}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import published results as `published` records (all or nothing)."""
    from runner.ingest.common import ImportRefused
    from runner.ingest.importer import import_files

    try:
        result = import_files(
            args.format,
            args.paths,
            args.results,
            source_card=args.source,
            mapping=args.mapping,
            aliases_path=args.aliases,
        )
    except ImportRefused as refused:
        for line in refused.lines:
            print(f"error: {line}", file=sys.stderr)
        raise
    for line in result.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in result.notes:
        print(f"note: {line}", file=sys.stderr)
    written = result.report.written
    if not written:
        print("import: no rows to import; nothing was written")
        return 0
    sources = ", ".join(result.report.source_ids)
    print(f"import: wrote {len(written)} published record(s) of {sources} under {args.results}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of a record kind."""
    from runner.records.load import RECORD_TYPES

    if args.kind not in RECORD_TYPES:
        raise UserError(f"--kind: expected one of {', '.join(sorted(RECORD_TYPES))}")
    version, model = RECORD_TYPES[args.kind]
    schema = model.model_json_schema()
    schema["$id"] = f"energy-leaderboard/{args.kind}-record/v{version}"
    print(json.dumps(schema, indent=2))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """Build the static site from result records."""
    from leaderboard_site.build import BuildRefused, build_site

    try:
        report = build_site(
            args.results or [Path("results")],
            args.out,
            strict=args.strict,
            skip_invalid=args.skip_invalid,
        )
    except BuildRefused as refused:
        # One line per problem: every bad file is named, each in exactly one line; the last
        # line also says that nothing was built and which command shows or fixes it.
        if len(refused.lines) <= 1:
            raise
        for line in refused.lines[:-1]:
            print(f"error: {line}", file=sys.stderr)
        raise UserError(
            f"{refused.lines[-1]} ({len(refused.lines)} problems in all, nothing was built; "
            f"{refused.hint})"
        ) from None
    for line in report.notes:
        print(f"note: {line}", file=sys.stderr)
    for line in report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in report.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    counts = f"{report.performance_records} performance and {report.accuracy_records} accuracy"
    if report.published_records:
        counts = (
            f"{report.performance_records} performance, {report.accuracy_records} accuracy and "
            f"{report.published_records} published"
        )
    out = f"{report.out}/index.html"
    print(f"build: {report.pages} pages, {report.rows} rows from {counts} records -> {out}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Preview a built site on 127.0.0.1."""
    from leaderboard_site.serve import serve

    serve(args.dir, args.port)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Measure this machine's ceilings and write calibration records (one per dtype)."""
    from runner.hardware.calibration import calibrate

    for line in calibrate(
        args.results,
        device=args.device,
        dtypes=args.dtype,
        size=args.size,
        missing_only=args.missing_only,
    ):
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="leaderboard", description="Open LLM energy leaderboard: run, validate, publish."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="benchmark (model, task, batch size, backend) points")
    run.add_argument("-m", "--multirun", action="store_true", help="sweep over comma lists")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model=tiny-random")
    run.set_defaults(handler=cmd_run)

    evaluate = commands.add_parser("eval", help="score accuracy with lm-eval (once per model)")
    evaluate.add_argument("-m", "--multirun", action="store_true", help="sweep over comma lists")
    evaluate.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. eval=quick")
    evaluate.set_defaults(handler=cmd_eval)

    validate = commands.add_parser("validate", help="check every config and result record")
    validate.add_argument(
        "--results",
        type=Path,
        action="append",
        default=None,
        help="results folder; repeat to read several as one (default: results/ if present)",
    )
    validate.set_defaults(handler=cmd_validate)

    calibrate = commands.add_parser(
        "calibrate", help="measure this machine's bandwidth, matmul and idle-power ceilings"
    )
    calibrate.add_argument("--results", type=Path, default=Path("results"), help="results folder")
    calibrate.add_argument(
        "--dtype",
        choices=("bfloat16", "float16", "float32"),
        action="append",
        help="matmul dtype; repeat for several (default bfloat16)",
    )
    calibrate.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    calibrate.add_argument("--size", choices=("small", "standard"), default="standard")
    calibrate.add_argument(
        "--missing-only",
        action="store_true",
        help="skip a dtype that already has a calibration of this machine (anywhere in --results)",
    )
    calibrate.set_defaults(handler=cmd_calibrate)

    clean = commands.add_parser(
        "clean-interrupted",
        help="remove what interrupted runs left (raw data without a record, temp files)",
    )
    clean.add_argument("--results", type=Path, default=Path("results"), help="results folder")
    clean.add_argument("--dry-run", action="store_true", help="list, do not remove")
    clean.set_defaults(handler=cmd_clean_interrupted)

    importer = commands.add_parser(
        "import", help="import published results (mlenergy-v1, mlenergy-v3, or csv with a mapping)"
    )
    importer.add_argument("format", help="mlenergy-v1 | mlenergy-v3 | csv")
    importer.add_argument("paths", nargs="+", type=Path, help="folders or files to import")
    importer.add_argument("--results", type=Path, default=Path("results"), help="results folder")
    importer.add_argument(
        "--source",
        type=Path,
        default=None,
        help="mlenergy-v1/-v3: a YAML with id, citation, url, license, version, date, "
        "methodology, tasks (refines the pinned card conf/sources/FORMAT.yaml)",
    )
    importer.add_argument(
        "--mapping", type=Path, default=None, help="csv: the YAML mapping (source, columns, ...)"
    )
    importer.add_argument(
        "--aliases",
        type=Path,
        default=None,
        help="hardware aliases (default conf/hardware_aliases.yaml)",
    )
    importer.set_defaults(handler=cmd_import)

    schema = commands.add_parser("schema", help="print a record kind's JSON Schema")
    schema.add_argument("--kind", default="performance", help="performance, published, ...")
    schema.set_defaults(handler=cmd_schema)

    build = commands.add_parser("build", help="build the static leaderboard site")
    build.add_argument(
        "--results",
        type=Path,
        action="append",
        default=None,
        help="results folder; repeat to read several as one (default: results)",
    )
    build.add_argument("--out", type=Path, default=Path("_site"), help="output folder")
    build.add_argument("--strict", action="store_true", help="fail on any warning")
    build.add_argument(
        "--skip-invalid", action="store_true", help="skip invalid records (listed on the site)"
    )
    build.set_defaults(handler=cmd_build)

    serve = commands.add_parser("serve", help="preview the built site on 127.0.0.1")
    serve.add_argument("--dir", type=Path, default=Path("_site"), help="built site folder")
    serve.add_argument("--port", type=int, default=8000, help="port (0 picks a free one)")
    serve.set_defaults(handler=cmd_serve)

    # The PR-to-site pipeline (docs/pipeline.md).
    from runner.publish import (
        changed_models,
        freshness,
        github,
        intake,
        leg,
        new_model,
        pipeline,
        pr_summary,
        runners,
        verify,
    )

    changed_models.add_parser(commands)
    intake.add_parser(commands)
    freshness.add_parser(commands)
    pr_summary.add_parser(commands)
    new_model.add_parser(commands)
    pipeline.add_parsers(commands)
    runners.add_parsers(commands)
    leg.add_parser(commands)
    verify.add_parser(commands)
    github.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `leaderboard` console script."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; no partial record was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
