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
import time
from datetime import date
from pathlib import Path
from typing import Sequence

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
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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
    return parser


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


def _spool(paths: list[str]):
    """Read the cohort into an on-disk spool, reporting malformed lines on stderr as they are met."""
    from cds_service.cohort.bulk import PatientSpool, ndjson_files

    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise InputError(f"no such file or folder: {missing[0]}")
    files = ndjson_files(Path(p) for p in paths)
    if not files:
        raise InputError("no NDJSON files (*.ndjson, *.jsonl, optionally .gz) in " + ", ".join(paths))
    spool = PatientSpool()
    spool.read(files, on_malformed=lambda message: print(f"kmt2a-cds: skipped {message}", file=sys.stderr))
    return spool


def _progress(args: argparse.Namespace, total: int, label: str):
    from tqdm import tqdm

    enabled = sys.stderr.isatty() if args.progress is None else args.progress
    return tqdm(total=total, unit="patient", desc=label, disable=not enabled, file=sys.stderr, smoothing=0.1)


def run_assess_cohort(args: argparse.Namespace) -> int:
    from collections import Counter

    from cds_service.cohort.rows import RowWriter
    from cds_service.cohort.runner import RunOptions, assess_rows

    started = time.perf_counter()
    spool = _spool([args.file, *args.more])
    fmt = args.format or ("csv" if (args.output or "").lower().endswith(".csv") else "jsonl")
    statuses, groups, errors = Counter(), Counter(), 0
    try:
        total = spool.count()
        out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
        try:
            writer = RowWriter(out, fmt)
            options = RunOptions(today=args.today or date.today(), workers=args.workers)
            with _progress(args, total, "assessing") as bar:
                for row in assess_rows(spool.path, spool.patients(), options, on_done=bar.update):
                    writer.write(row)
                    errors += bool(row.get("error"))
                    statuses[row.get("kmt2aStatus", "error")] += 1
                    groups.update(row.get("riskGroups", []))
        finally:
            if args.output:
                out.close()
        report = spool.report
    finally:
        spool.close()
    elapsed = time.perf_counter() - started
    summary = [f"kmt2a-cds: assessed {total} patients from {report.resources} resources in {report.files} file(s) "
               f"in {elapsed:.1f} s ({total / elapsed if elapsed else 0:.0f} patients/s, {args.workers} workers)",
               "  KMT2A: " + (", ".join(f"{k} {v}" for k, v in statuses.most_common()) or "none"),
               "  risk groups: " + (", ".join(f"{k} {v}" for k, v in groups.most_common()) or "none")]
    if report.malformed:
        summary.append(f"  malformed lines skipped: {len(report.malformed)} (listed above)")
    if errors:
        summary.append(f"  patients that could not be assessed: {errors} (rows with an error column)")
    if args.output:
        summary.append(f"  rows written to {args.output} ({fmt})")
    print("\n".join(summary), file=sys.stderr)
    return 0


def run_diff(args: argparse.Namespace) -> int:
    from cds_service.cohort.diff import compare
    from cds_service.cohort.rows import read_rows
    from cds_service.cohort.runner import RunOptions, assess_rows

    today = args.today or date.today()
    if args.knowledge:
        for folder in args.knowledge:
            if not folder.is_dir():
                raise InputError(f"not a folder of knowledge files: {folder}")
    previous = None
    if args.against:
        try:
            previous = read_rows(args.against)
        except (OSError, ValueError, KeyError) as error:
            raise InputError(f"cannot read rows from {args.against}: {type(error).__name__}") from None
    spool = _spool(args.cohort)
    changes, seen, versions = [], 0, {}
    try:
        total = spool.count()
        with _progress(args, total, "re-assessing") as bar:
            if args.knowledge:
                old_dir, new_dir = (folder.resolve() for folder in args.knowledge)
                half = max(1, args.workers // 2)
                olds = assess_rows(spool.path, spool.patients(), RunOptions(today, half, knowledge_dir=old_dir))
                news = assess_rows(spool.path, spool.patients(), RunOptions(today, half, knowledge_dir=new_dir),
                                   on_done=bar.update)
                pairs = ((old["patient"], old, new) for old, new in zip(olds, news))
            else:
                news = assess_rows(spool.path, spool.patients(), RunOptions(today, args.workers), on_done=bar.update)
                pairs = ((new["patient"], previous.pop(new["patient"], None), new) for new in news)
            for patient, old, new in pairs:
                seen += 1
                versions.setdefault("old", (old or {}).get("knowledgeVersion"))
                versions.setdefault("new", new.get("knowledgeVersion"))
                if change := compare(patient, old, new):
                    changes.append(change)
                    print(json.dumps(change.to_json(), ensure_ascii=False) if args.json else change.describe(),
                          flush=True)
        for patient, old in (previous or {}).items():
            change = compare(patient, old, None)
            changes.append(change)
            print(json.dumps(change.to_json(), ensure_ascii=False) if args.json else change.describe())
    finally:
        spool.close()
    print(f"kmt2a-cds: {seen} patients re-assessed; {len(changes)} changed "
          f"(knowledge {versions.get('old') or '?'} -> {versions.get('new') or '?'})", file=sys.stderr)
    return EXIT_CHANGED if changes else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except InputError as exc:
        print(f"kmt2a-cds: error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE


if __name__ == "__main__":
    sys.exit(main())
