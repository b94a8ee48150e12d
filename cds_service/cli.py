"""The `kmt2a-cds` command line: `kmt2a-cds assess FILE [--today YYYY-MM-DD]` prints the assessment JSON.

FILE is a FHIR Bundle (any type) or a CDS Hooks request (its prefetch and draft orders), `-` for stdin.
Subcommands keep room for more (`serve`, ...). Exit 0 on success, 2 with a one-line error for unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Sequence

from cds_service import operations_cli

EXIT_UNREADABLE = 2


class InputError(Exception):
    """The input cannot be read as a Bundle or a CDS Hooks request."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kmt2a-cds", description="KMT2A leukemia clinical decision support")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    assess = commands.add_parser("assess", help="print the assessment of a FHIR Bundle or CDS Hooks request")
    assess.add_argument("file", metavar="FILE", help="a JSON file, or - for stdin")
    assess.add_argument("--today", type=_date, default=None, help="reference date YYYY-MM-DD (default: today)")
    assess.set_defaults(run=run_assess)
    operations_cli.add_commands(commands)  # db upgrade|current|purge, report feedback
    return parser


def read_json(path: str) -> dict:
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc.__class__.__name__}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{'stdin' if path == '-' else path} is not JSON: {exc.msg} at line {exc.lineno}") from None
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
    data = read_json(args.file)
    result = assessment_json(data, args.today or date.today())
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except InputError as exc:
        print(f"kmt2a-cds: error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE


if __name__ == "__main__":
    sys.exit(main())
