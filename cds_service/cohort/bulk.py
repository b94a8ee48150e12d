"""FHIR Bulk Data NDJSON -> the resources of each patient, grouped on disk so memory stays flat with cohort size.

A `$export` writes one file per resource type (`Patient.ndjson`, `Observation.ndjson`, `Observation.2.ndjson`, ...),
each in any patient order. We read every line once, spool it into a SQLite file keyed by patient, then hand out one
patient at a time. Resources outside any patient's compartment (Medication, Organization, ...) are kept apart and
added to the patients whose resources reference them.

A line that is not a JSON object with a `resourceType` is reported as `file:line: reason` and skipped.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

NDJSON_SUFFIXES = (".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz")
PATIENT_FIELDS = ("subject", "patient", "beneficiary")


class CohortInputError(ValueError):
    """The cohort cannot be read at all (no such path, no NDJSON files): one line for the command line."""


@dataclass
class ReadReport:
    files: int = 0
    lines: int = 0
    resources: int = 0
    malformed: list[str] = field(default_factory=list)  # "file:line: reason", in reading order
    shared: int = 0  # resources outside any patient compartment


def is_ndjson(path: Path) -> bool:
    return path.is_dir() or path.name.lower().endswith(NDJSON_SUFFIXES)


def ndjson_files(paths: Iterable[Path]) -> list[Path]:
    """The NDJSON files named, and those inside named folders (sorted, so the order is reproducible)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(NDJSON_SUFFIXES))
        else:
            files.append(path)
    return files


def patient_of(resource: dict) -> str | None:
    """The id of the patient whose compartment holds `resource` (Patient/x, absolute or versioned references)."""
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return rid if isinstance(rid, str) and rid else None
    for name in PATIENT_FIELDS:
        ref = resource.get(name)
        text = ref.get("reference") if isinstance(ref, dict) else None
        if isinstance(text, str) and "Patient/" in text:
            return text.split("Patient/", 1)[1].split("/", 1)[0] or None
    return None


def _open(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.name.lower().endswith(".gz") else \
        open(path, encoding="utf-8")


class PatientSpool:
    """The lines of every patient, on disk. `patients()` streams the ids in order of first appearance;
    `resources(pid)` the parsed resources of one patient, with the shared resources they reference."""

    def __init__(self, directory: Path | None = None):
        self._tmp = None if directory else tempfile.TemporaryDirectory(prefix="kmt2a-cohort-")
        self.path = (directory or Path(self._tmp.name)) / "spool.sqlite"
        self._db = sqlite3.connect(self.path)
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE lines(seq INTEGER PRIMARY KEY, patient TEXT NOT NULL, line TEXT NOT NULL);"
            "CREATE TABLE shared(ref TEXT PRIMARY KEY, line TEXT NOT NULL);")
        self.report = ReadReport()

    def read(self, files: Iterable[Path], on_malformed: Callable[[str], None] | None = None) -> ReadReport:
        batch: list[tuple[str, str]] = []
        for path in files:
            self.report.files += 1
            try:
                handle = _open(path)
            except OSError as error:
                self._malformed(f"{path}: cannot read ({error.strerror or error})", on_malformed)
                continue
            with handle:
                try:
                    for number, line in enumerate(handle, 1):
                        self._read_line(path, number, line, batch, on_malformed)
                        if len(batch) >= 5000:
                            self._db.executemany("INSERT INTO lines(patient, line) VALUES (?, ?)", batch)
                            batch.clear()
                except (UnicodeDecodeError, EOFError, OSError) as error:
                    self._malformed(f"{path}: unreadable after line {self.report.lines} ({type(error).__name__})",
                                    on_malformed)
        self._db.executemany("INSERT INTO lines(patient, line) VALUES (?, ?)", batch)
        self._db.execute("CREATE INDEX by_patient ON lines(patient, seq)")
        self._db.commit()
        return self.report

    def _read_line(self, path: Path, number: int, line: str, batch: list, on_malformed) -> None:
        if not line.strip():
            return
        self.report.lines += 1
        try:
            resource = json.loads(line)
        except ValueError as error:
            reason = getattr(error, "msg", "not JSON")
            self._malformed(f"{path.name}:{number}: not JSON ({reason}); line skipped", on_malformed)
            return
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            self._malformed(f"{path.name}:{number}: not a FHIR resource (no resourceType); line skipped", on_malformed)
            return
        self.report.resources += 1
        patient = patient_of(resource)
        if patient is not None:
            batch.append((patient, line))
            return
        rid = resource.get("id")
        if isinstance(rid, str):
            self.report.shared += 1
            self._db.execute("INSERT OR REPLACE INTO shared(ref, line) VALUES (?, ?)",
                             (f"{resource['resourceType']}/{rid}", line))

    def _malformed(self, message: str, on_malformed) -> None:
        self.report.malformed.append(message)
        if on_malformed:
            on_malformed(message)

    def patients(self) -> Iterator[str]:
        """Patient ids in order of their first line (a second connection: the cursor streams, never a list)."""
        with sqlite3.connect(self.path) as db:
            yield from (row[0] for row in db.execute(
                "SELECT patient FROM lines GROUP BY patient ORDER BY min(seq)"))

    def count(self) -> int:
        return self._db.execute("SELECT count(DISTINCT patient) FROM lines").fetchone()[0]

    def close(self) -> None:
        self._db.close()
        if self._tmp:
            self._tmp.cleanup()


class SpoolReader:
    """Read access for one worker process (its own connection)."""

    def __init__(self, path: Path):
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def resources(self, patient: str) -> list[dict]:
        found = [json.loads(line) for (line,) in
                 self._db.execute("SELECT line FROM lines WHERE patient = ? ORDER BY seq", (patient,))]
        have = {f"{r['resourceType']}/{r.get('id')}" for r in found}
        wanted = sorted(ref for r in found for ref in _references(r) if ref not in have and not ref.startswith("Patient/"))
        for ref in wanted:
            row = self._db.execute("SELECT line FROM shared WHERE ref = ?", (ref,)).fetchone()
            if row:
                found.append(json.loads(row[0]))
                have.add(ref)
        return found


def _references(value) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str) and "/" in item and not item.startswith("#"):
                yield "/".join(item.rstrip("/").split("/")[-2:])
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)
