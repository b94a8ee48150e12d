"""Assess every patient of a spooled cohort on all cores, streaming rows in input order.

Each worker process reads its patients from the spool itself (only ids cross the process boundary) and assesses
each one exactly as `kmt2a-cds assess FILE` assesses a single Bundle, so a cohort row equals the row of the same
patient assessed alone. At most a few batches per worker are in flight: memory stays flat however long the cohort.
With `knowledge_dir`, workers are fresh processes that read their knowledge files from that folder (`diff`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Callable, Iterable, Iterator

from cds_service.cohort.bulk import SpoolReader
from cds_service.cohort.rows import error_row, row_from_assessment

IN_FLIGHT_PER_WORKER = 3


@dataclass(frozen=True)
class RunOptions:
    today: date
    workers: int = os.cpu_count() or 1
    batch_size: int = 16
    knowledge_dir: Path | None = None


_state: dict = {}


def _start_worker(spool_path: str, today: str, knowledge_dir: str | None) -> None:
    if knowledge_dir:
        # Set before anything reads a knowledge file: this process was spawned, nothing is loaded yet.
        from cds_service.knowledge import OVERRIDE_ENV

        os.environ[OVERRIDE_ENV] = knowledge_dir
    import fhir_mappings
    from cds_service import knowledge

    fhir_mappings.warm_up()
    knowledge.load_all()
    _state.update(reader=SpoolReader(Path(spool_path)), today=date.fromisoformat(today))


def _assess_batch(patients: list[str]) -> list[dict]:
    from cds_service.cli import assessment_json

    rows = []
    for patient in patients:
        try:
            resources = _state["reader"].resources(patient)
            bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
            rows.append(row_from_assessment(patient, assessment_json(bundle, _state["today"])))
        except Exception as error:  # noqa: BLE001 - one patient must not stop a cohort; the row says why
            rows.append(error_row(patient, f"assessment failed ({type(error).__name__})"))
    return rows


def _batches(patients: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(patients)
    while batch := list(islice(iterator, size)):
        yield batch


def assess_rows(spool_path: Path, patients: Iterable[str], options: RunOptions,
                on_done: Callable[[int], None] | None = None) -> Iterator[dict]:
    """One row per patient, in the order of `patients`. `on_done(n)` after each batch (for a progress bar)."""
    workers = max(1, options.workers)
    context = multiprocessing.get_context("spawn" if options.knowledge_dir else "fork")
    initargs = (str(spool_path), options.today.isoformat(), str(options.knowledge_dir) if options.knowledge_dir else None)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=initargs) as pool:
        pending: deque[Future] = deque()
        for batch in _batches(patients, options.batch_size):
            pending.append(pool.submit(_assess_batch, batch))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                yield from _collect(pending.popleft(), on_done)
        while pending:
            yield from _collect(pending.popleft(), on_done)


def _collect(future: Future, on_done) -> list[dict]:
    rows = future.result()
    if on_done:
        on_done(len(rows))
    return rows
