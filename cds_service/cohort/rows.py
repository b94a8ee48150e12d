"""One patient's assessment as one flat row, and the writers for CSV and JSON Lines.

A row holds what an analyst filters on (contract field names, flattened): patient, ageGroup, lineage, setting,
kmt2aStatus, kmt2aPartner, riskGroups, considerations, cautions, missingData, knowledgeVersion; `error` only when
the patient could not be assessed. JSON Lines keep lists as lists; CSV joins them with "; " (risk groups as
`scheme=group`).
"""

from __future__ import annotations

import csv
import json
from typing import IO, Any

FIELDS = ("patient", "ageGroup", "lineage", "setting", "kmt2aStatus", "kmt2aPartner", "riskGroups",
          "considerations", "cautions", "missingData", "knowledgeVersion", "error")
LIST_FIELDS = ("riskGroups", "considerations", "cautions", "missingData")


def row_from_assessment(patient: str, assessment: dict) -> dict:
    disease, kmt2a = assessment.get("disease", {}), assessment.get("kmt2a", {})
    return {
        "patient": patient,
        "ageGroup": assessment.get("patient", {}).get("ageGroup", "unknown"),
        "lineage": disease.get("lineage", "unknown"),
        "setting": disease.get("setting", "unknown"),
        "kmt2aStatus": kmt2a.get("status", "unknown"),
        "kmt2aPartner": kmt2a.get("partner", ""),
        "riskGroups": [f"{g['scheme']}={g['group']}" for g in assessment.get("riskGroups", [])],
        "considerations": [c["code"] for c in assessment.get("considerations", [])],
        "cautions": [c["code"] for c in assessment.get("cautions", [])],
        "missingData": list(assessment.get("missingData", [])),
        "knowledgeVersion": assessment.get("knowledgeVersion", ""),
    }


def error_row(patient: str, error: str) -> dict:
    return {"patient": patient, "error": error}


class RowWriter:
    """`write(row)` in the chosen format; CSV gets its header first."""

    def __init__(self, stream: IO[str], fmt: str):
        if fmt not in ("csv", "jsonl"):
            raise ValueError(f"unknown format {fmt!r}")
        self.stream, self.fmt = stream, fmt
        self._csv = csv.DictWriter(stream, FIELDS, extrasaction="ignore", lineterminator="\n") if fmt == "csv" else None
        if self._csv:
            self._csv.writeheader()

    def write(self, row: dict) -> None:
        if self._csv:
            self._csv.writerow({k: "; ".join(v) if isinstance(v, list) else v for k, v in row.items()})
        else:
            self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_rows(path: str) -> dict[str, dict]:
    """Rows a previous `kmt2a-cds assess` wrote (CSV or JSON Lines), by patient, lists restored."""
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
        handle.seek(0)
        if first.lstrip().startswith("{"):
            rows = [json.loads(line) for line in handle if line.strip()]
        else:
            rows = [_from_csv(r) for r in csv.DictReader(handle)]
    return {row["patient"]: row for row in rows}


def _from_csv(row: dict[str, Any]) -> dict:
    out = {k: v for k, v in row.items() if v not in (None, "")}
    for name in LIST_FIELDS:
        out[name] = [item for item in (row.get(name) or "").split("; ") if item]
    return out
