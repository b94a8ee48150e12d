"""Small formatters for basis lines: a result by its content and its date, the way a clinician quotes it.

"WBC at diagnosis 450 x10^9/L on 1 Sep 2026", "karyotype 46,XY,t(4;11)(q21;q23)[20] on 8 Mar 2025": never the
FHIR reference (`Observation/kar-dx`), which a clinician cannot look up; the reference stays in the assessment
extension (`kmt2a.evidence`) for integrators.
"""

from __future__ import annotations

import re
from datetime import date

from fhir_mappings.patient import age_years
from fhir_mappings.case import GeneticFinding, Kmt2aFinding, Measurement, MrdResult, Source

DAYS_PER_MONTH = 30.44


def number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def day(d: date) -> str:
    """'8 Mar 2025': unambiguous in every locale, unlike 03/08/2025."""
    return f"{d.day} {d:%b %Y}"


def on(source: Source) -> str:
    """' on 8 Mar 2025' for a result with a date, '' without one (then the content speaks alone)."""
    return f" on {day(source.date)}" if source.date else ""


def measurement(label: str, m: Measurement, unit: str) -> str:
    comparator = m.comparator or ""
    return f"{label} {comparator}{number(m.value)} {unit}{on(m.source)}"


def finding(g: GeneticFinding) -> str:
    """'TP53 p.Arg175His on 3 Mar 2025'; a lab detail that already names the gene is not prefixed twice."""
    what = g.detail or g.kind
    label = what if what.upper().startswith(g.gene.upper()) else f"{g.gene} {what}"
    return f"{label}{on(g.source)}"


def percent(fraction: float) -> str:
    return f"{fraction * 100:.3g} %"


TIMEPOINTS = {"end-of-induction": "end of induction", "end-of-consolidation": "end of consolidation"}


def mrd(result: MrdResult) -> str:
    """'MRD end of induction 0.05 % (flow) on 2 Mar 2025'."""
    if result.value is not None:
        value = f"{result.comparator or ''}{percent(result.value)}"
    elif result.positive is not None:
        value = "positive" if result.positive else "negative"
    else:
        value = "result not readable"
    when = TIMEPOINTS.get(result.timepoint.value)
    method_name = {"flow": "flow", "pcr": "PCR", "ngs": "NGS"}.get(result.method.value)
    return f"MRD{' ' + when if when else ''} {value}{f' ({method_name})' if method_name else ''}{on(result.source)}"


def months(days: float) -> str:
    """A day threshold in whole months (the month is 30.44 days)."""
    n = round(days / DAYS_PER_MONTH)
    return f"{n} month{'' if n == 1 else 's'}"


def count(value: float) -> str:
    """A blood count threshold in x10^9/L."""
    return f"{number(value)} x10^9/L"


def age(days: int) -> str:
    """'4 months' under 2 years, else '6 years' (the day count stays in the extension's ageDays)."""
    if days < 730:
        months = int(days // DAYS_PER_MONTH)
        if months < 1:
            return f"{days} day{'' if days == 1 else 's'}"
        return f"{months} month{'' if months == 1 else 's'}"
    return f"{age_years(None, None, days)} years"


METHODS = {"fish": "FISH", "karyotype": "karyotype", "molecular": "molecular test", "text": "report"}


def method(name: str) -> str:
    return METHODS.get(name, name)


# A lab's own words are quoted when they are an ISCN string or short; a narrative ("AML FISH panel: MLL (KMT2A)
# break-apart probe: split signal in 86% of nuclei") is read instead ("KMT2A rearranged"): the report has the rest.
ISCN = re.compile(r"^(\d{2,3}(~\d{2,3})?[,<]|[a-z]{1,4}\()")
QUOTED_TEXT_LIMIT = 48
READINGS = {"rearranged": "KMT2A rearranged", "amplified": "KMT2A amplified", "ptd": "KMT2A-PTD",
            "not-detected": "no KMT2A alteration"}


def _kmt2a_content(f: Kmt2aFinding) -> str:
    text = " ".join((f.text or "").split()).rstrip(".;, ")  # a sentence's full stop before ' on 18 Nov 2026' jars
    # an ISCN string is quoted whatever its length; a narrative that merely starts with one is read instead
    if text and (len(text) <= QUOTED_TEXT_LIMIT or (ISCN.match(text) and " " not in text)):
        return text
    return f.fusion or READINGS.get(f.status.value, "")


def kmt2a_results(findings: tuple[Kmt2aFinding, ...], status=None) -> str:
    """'karyotype t(4;11)(q21;q23) on 8 Mar 2025; FISH KMT2A::AFF1 on 9 Mar 2025': each report once (one report
    can hold a fusion and its ISCN: 'FISH and karyotype KMT2A::AFF1 on ...'); a result the lab did not word, and
    that reads otherwise than the overall status, says how it reads."""
    reports: dict[Source, list[Kmt2aFinding]] = {}
    for f in findings:
        reports.setdefault(f.source, []).append(f)
    lines = []
    for src, found in reports.items():
        kinds = " and ".join(dict.fromkeys(method(f.method) for f in found if f.method != "unknown"))
        worded = next((f for f in found if f.text), None) or found[0]
        line = " ".join(w for w in (kinds, _kmt2a_content(worded)) if w)
        if status is not None and worded.status is not status and not worded.text:
            line += f" ({worded.status.value.replace('-', ' ')})"
        lines.append(line + on(src))
    return "; ".join(dict.fromkeys(lines))
