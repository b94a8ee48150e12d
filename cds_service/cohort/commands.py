"""The cohort commands behind `kmt2a-cds assess COHORT...` and `kmt2a-cds diff` (the CLI parses, these run).

Rows go to stdout or a file; malformed lines, the progress bar and the closing summary go to stderr.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Iterator

from cds_service.cohort.bulk import CohortInputError, PatientSpool, ndjson_files
from cds_service.cohort.diff import Change, compare
from cds_service.cohort.rows import RowWriter, read_rows
from cds_service.cohort.runner import RunOptions, assess_rows


def assess(paths: list[str], output: str | None, fmt: str, today: date, workers: int, progress: bool | None) -> int:
    """Write one row per patient of the cohort; print the summary. Returns the exit status (0)."""
    started = time.perf_counter()
    spool = _spool(paths)
    statuses, groups, errors = Counter(), Counter(), 0
    try:
        total = spool.count()
        out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            writer = RowWriter(out, fmt)
            with _progress(progress, total, "assessing") as bar:
                for row in assess_rows(spool.path, spool.patients(), RunOptions(today, workers), on_done=bar.update):
                    writer.write(row)
                    errors += bool(row.get("error"))
                    statuses[row.get("kmt2aStatus", "error")] += 1
                    groups.update(row.get("riskGroups", []))
        finally:
            if output:
                out.close()
    finally:
        spool.close()
    elapsed = time.perf_counter() - started
    report = spool.report
    summary = [f"kmt2a-cds: assessed {total} patients from {report.resources} resources in {report.files} file(s) "
               f"in {elapsed:.1f} s ({total / elapsed if elapsed else 0:.0f} patients/s, {workers} workers)",
               "  KMT2A: " + (", ".join(f"{k} {v}" for k, v in statuses.most_common()) or "none"),
               "  risk groups: " + (", ".join(f"{k} {v}" for k, v in groups.most_common()) or "none")]
    if report.malformed:
        summary.append(f"  malformed lines skipped: {len(report.malformed)} (listed above)")
    if errors:
        summary.append(f"  patients that could not be assessed: {errors} (rows with an error column)")
    if output:
        summary.append(f"  rows written to {output} ({fmt})")
    print("\n".join(summary), file=sys.stderr)
    return 0


def diff(paths: list[str], knowledge: list[Path] | None, against: str | None, as_json: bool, today: date,
         workers: int, progress: bool | None) -> int:
    """Print the patients whose risk groups or considerations change. Returns how many changed."""
    for folder in knowledge or []:
        if not folder.is_dir():
            raise CohortInputError(f"not a folder of knowledge files: {folder}")
    previous = _earlier_rows(against) if against else None
    spool = _spool(paths)
    seen, changed, versions = 0, 0, {}
    try:
        with _progress(progress, spool.count(), "re-assessing") as bar:
            if knowledge:
                half = max(1, workers // 2)  # both sides run at once, each on half the cores
                old_rows, new_rows = (assess_rows(spool.path, spool.patients(),
                                                  RunOptions(today, half, knowledge_dir=folder.resolve()),
                                                  on_done=bar.update if side else None)
                                      for side, folder in enumerate(knowledge))
                pairs: Iterator = ((old, new) for old, new in zip(old_rows, new_rows))
            else:
                new_rows = assess_rows(spool.path, spool.patients(), RunOptions(today, workers), on_done=bar.update)
                pairs = ((previous.pop(new["patient"], None), new) for new in new_rows)
            for old, new in pairs:
                seen += 1
                versions.setdefault("old", (old or {}).get("knowledgeVersion"))
                versions.setdefault("new", new.get("knowledgeVersion"))
                changed += _emit(compare(new["patient"], old, new), as_json)
        for patient, old in (previous or {}).items():  # in the earlier rows, no longer in the cohort
            changed += _emit(compare(patient, old, None), as_json)
    finally:
        spool.close()
    print(f"kmt2a-cds: {seen} patients re-assessed; {changed} changed "
          f"(knowledge {versions.get('old') or '?'} -> {versions.get('new') or '?'})", file=sys.stderr)
    return changed


def _emit(change: Change | None, as_json: bool) -> int:
    if change is None:
        return 0
    print(json.dumps(change.to_json(), ensure_ascii=False) if as_json else change.describe(), flush=True)
    return 1


def _earlier_rows(path: str) -> dict[str, dict]:
    try:
        return read_rows(path)
    except (OSError, ValueError, KeyError) as error:
        raise CohortInputError(f"cannot read rows from {path}: {type(error).__name__}") from None


def _spool(paths: list[str]) -> PatientSpool:
    """The cohort read into an on-disk spool; malformed lines are reported on stderr as they are met."""
    if missing := [p for p in paths if not Path(p).exists()]:
        raise CohortInputError(f"no such file or folder: {missing[0]}")
    files = ndjson_files(Path(p) for p in paths)
    if not files:
        raise CohortInputError("no NDJSON files (*.ndjson, *.jsonl, optionally .gz) in " + ", ".join(paths))
    spool = PatientSpool()
    spool.read(files, on_malformed=lambda message: print(f"kmt2a-cds: skipped {message}", file=sys.stderr))
    return spool


def _progress(progress: bool | None, total: int, label: str):
    from tqdm import tqdm

    enabled = sys.stderr.isatty() if progress is None else progress
    return tqdm(total=total, unit="patient", desc=label, disable=not enabled, file=sys.stderr, smoothing=0.1)
