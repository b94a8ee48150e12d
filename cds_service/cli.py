"""The `kmt2a-cds` command line.

    kmt2a-cds assess FILE [--today YYYY-MM-DD]         the assessment JSON of a Bundle or CDS Hooks request (`-`: stdin)
    kmt2a-cds assess COHORT... [-o rows.csv]           a Bulk Data NDJSON folder or files: one row per patient
    kmt2a-cds cards FILE [--json] [--hook H]           the cards a clinician would see, or the CDS Hooks response
    kmt2a-cds diff COHORT... --knowledge OLD NEW       patients whose risk groups or considerations change
    kmt2a-cds diff COHORT... --against ROWS            ... against rows written earlier by `assess`

Exit 0 on success, 2 with a one-line error for unreadable input (`diff`: 1 when patients changed, like diff(1)).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Sequence

from cds_service import operations_cli

EXIT_UNREADABLE = 2
EXIT_CHANGED = 1


class InputError(Exception):
    """The input cannot be read as a Bundle or a CDS Hooks request."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kmt2a-cds", description="KMT2A leukemia clinical decision support")
    parser.add_argument("--version", action="version", version=f"kmt2a-cds knowledge {_knowledge_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    version = commands.add_parser("version", help="print the knowledge version (date and content hash)")
    version.set_defaults(run=lambda args: print(_knowledge_version()) or 0)
    assess = commands.add_parser("assess", help="print the assessment of a FHIR Bundle or CDS Hooks request")
    assess.add_argument("file", metavar="FILE", help="a JSON file, or - for stdin; or Bulk Data NDJSON files/folders "
                        "(one row per patient)")
    assess.add_argument("more", nargs="*", metavar="NDJSON", help="more NDJSON files or folders of the same cohort")
    assess.add_argument("--today", type=_date, default=None, help="reference date YYYY-MM-DD (default: today)")
    _cohort_options(assess)
    assess.add_argument("-o", "--output", help="cohort rows to this file (default: stdout)")
    assess.add_argument("--format", choices=("csv", "jsonl"), help="cohort row format (default: from the -o "
                        "suffix, else jsonl)")
    assess.set_defaults(run=run_assess)

    cards = commands.add_parser("cards", help="show the cards of a Bundle or CDS Hooks request as a clinician sees them")
    cards.add_argument("file", metavar="FILE", help="a Bundle or a CDS Hooks request (JSON), or - for stdin")
    cards.add_argument("--json", action="store_true", help="print the CDS Hooks response instead")
    cards.add_argument("--hook", choices=("patient-view", "order-select", "order-sign"),
                       help="for a Bundle: the hook to answer (default patient-view; order hooks use its draft orders)")
    cards.add_argument("--patient", help="for a Bundle with several patients: the patient id")
    cards.add_argument("--today", type=_date, default=None, help="reference date YYYY-MM-DD (default: today)")
    cards.set_defaults(run=run_cards)

    diff = commands.add_parser("diff", help="patients whose risk groups or considerations change between two "
                               "knowledge versions")
    diff.add_argument("cohort", nargs="+", metavar="COHORT", help="Bulk Data NDJSON files or folders")
    which = diff.add_mutually_exclusive_group(required=True)
    which.add_argument("--knowledge", nargs=2, type=Path, metavar=("OLD", "NEW"),
                       help="two folders of knowledge files (cds_service/knowledge of each version; a file missing "
                       "from a folder is taken from the installed package)")
    which.add_argument("--against", metavar="ROWS", help="rows written earlier by `kmt2a-cds assess` (CSV or JSON "
                       "Lines), compared with the installed knowledge")
    diff.add_argument("--json", action="store_true", help="one JSON object per changed patient")
    diff.add_argument("--today", type=_date, default=None, help="reference date YYYY-MM-DD (default: today)")
    _cohort_options(diff)
    diff.set_defaults(run=run_diff)
    operations_cli.add_commands(commands)  # db upgrade|current|purge, report feedback
    return parser


def _knowledge_version() -> str:
    from cds_service import knowledge

    return knowledge.version()


def _cohort_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar on stderr (default: when stderr is a terminal)")


def read_json(path: str) -> dict:
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc.__class__.__name__}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (one JSON per line? name it .ndjson, or pass its folder)" if exc.msg == "Extra data" else ""
        raise InputError(f"{'stdin' if path == '-' else path} is not JSON: {exc.msg} at line {exc.lineno}{hint}") from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object (a FHIR Bundle or a CDS Hooks request)")
    return data


def case_from_input(data: dict, today: date):
    """A Bundle (or any single resource) goes through the Bundle mapper; a CDS Hooks request through its own."""
    from fhir_mappings.build import case_from_bundle, case_from_hook_request

    if data.get("resourceType") == "Bundle":
        return case_from_bundle(data, reference_date=today)
    if "hook" in data or "context" in data or "prefetch" in data:
        return case_from_hook_request(data, reference_date=today)
    if isinstance(data.get("resourceType"), str):
        return case_from_bundle({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": data}]},
                                reference_date=today)
    raise InputError("neither a FHIR Bundle nor a CDS Hooks request (no resourceType, hook or context)")


def assessment_json(data: dict, today: date) -> dict:
    from cds_service.stratification import assess

    case = case_from_input(data, today)
    out = assess(case).to_json()
    if case.draft_orders:
        from cds_service.orders import order_checks

        checks = order_checks(case)
        if checks:
            out["orderChecks"] = checks
    return out


def run_assess(args: argparse.Namespace) -> int:
    from cds_service.cohort.bulk import is_ndjson

    if args.more or (args.file != "-" and is_ndjson(Path(args.file))):
        return run_assess_cohort(args)
    data = read_json(args.file)
    result = assessment_json(data, args.today or date.today())
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def run_cards(args: argparse.Namespace) -> int:
    from cds_service.cards.terminal import render
    from cds_service.hooks.offline import OfflineError, cds_response

    data = read_json(args.file)
    try:
        answer = cds_response(data, args.today or date.today(), hook=args.hook, patient_id=args.patient)
    except OfflineError as error:
        raise InputError(str(error)) from None
    if args.json:
        print(json.dumps(answer.response, indent=2, ensure_ascii=False))
    else:
        width = min(os.get_terminal_size(sys.stdout.fileno()).columns if sys.stdout.isatty() else 100, 120)
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        print(f"{answer.service_id}: {len(answer.response['cards'])} card(s)\n")
        sys.stdout.write(render(answer.response, color=color, width=width))
    return 0


def run_assess_cohort(args: argparse.Namespace) -> int:
    from cds_service.cohort import commands

    fmt = args.format or ("csv" if (args.output or "").lower().endswith(".csv") else "jsonl")
    return _cohort(commands.assess, [args.file, *args.more], args.output, fmt, args.today or date.today(),
                   args.workers, args.progress)


def run_diff(args: argparse.Namespace) -> int:
    from cds_service.cohort import commands

    changed = _cohort(commands.diff, args.cohort, args.knowledge, args.against, args.json, args.today or date.today(),
                      args.workers, args.progress)
    return EXIT_CHANGED if changed else 0


def _cohort(command, *args) -> int:
    from cds_service.cohort.bulk import CohortInputError

    try:
        return command(*args)
    except CohortInputError as error:
        raise InputError(str(error)) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except InputError as exc:
        print(f"kmt2a-cds: error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE


if __name__ == "__main__":
    sys.exit(main())
