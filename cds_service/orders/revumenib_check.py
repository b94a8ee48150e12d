"""The revumenib order check: indication, dose, co-medications and pre-start safety, merged into one
OrderCheck per order (one card, one verdict; every finding is a reason or a detail line).

Verdict: the most consequential one (model.VERDICT_PRIORITY: not-indicated > do-not-start > dose-too-high >
dose-too-low > interaction > cannot-check > ok). Pre-start safety (QTcF, potassium, magnesium, WBC) is reported
in reasons and missingData; a QTcF above the start limit gives "do-not-start" (critical at order-sign).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cds_service import knowledge
from cds_service.stratification import menin_inhibitors as revumenib
from cds_service.orders import correction, doses
from cds_service.orders.model import OrderCheck, worst
from cds_service.orders.text import reason_text, short_reason
from fhir_mappings.case import Case, DraftMedicationOrder, Measurement


@dataclass
class Part:
    """One aspect of the check. `rank` orders the summaries: the lowest rank names the card."""

    verdict: str = "ok"
    reasons: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    summary: str | None = None
    rank: int = 99
    unsafe: bool = False
    problem: bool = False


def _flag(part: Part, rank: int, summary: str, unsafe: bool = False) -> None:
    """Mark a problem; the most consequential one (lowest rank) names the part."""
    part.problem = True
    part.unsafe = part.unsafe or unsafe
    if rank < part.rank:
        part.rank, part.summary = rank, summary


def _tagged(item: dict) -> str:
    return f"{item['text']} [{item['tag']}]"


# --- indication ------------------------------------------------------------------------------------


def indication_part(case: Case) -> Part:
    found = revumenib.eligibility(case)
    part = Part(reasons=list(found.reasons), missing=list(found.missing_data))
    if found.verdict == "eligible":
        return part
    if found.verdict == "cannot-check":
        lacking = ", ".join(reason_text(m) for m in found.missing_data)
        part.verdict = "cannot-check"
        _flag(part, 60, f"Revumenib indication cannot be checked: {lacking} missing")
        part.lines.append(f"Indication cannot be checked: {lacking} missing.")
        return part
    part.verdict, part.unsafe, part.problem, part.rank = "not-indicated", True, True, 10
    first = next(r for r in found.reasons if r not in ("kmt2a-rearranged", "npm1-mutated-aml", "relapsed", "refractory"))
    label = "off-label" if found.verdict == "off-label-age" else "not indicated"
    part.summary = f"Revumenib {label}: {short_reason(first)}"
    texts = " or ".join(i["text"] for i in revumenib.table()["indications"])
    part.lines.append(f"Revumenib is {label} here. Label indication: {texts}.")
    part.lines += [f"- {reason_text(r)}" for r in found.reasons]
    return part


# --- dose ------------------------------------------------------------------------------------------


def _target(ordered: doses.OrderedDose, expected: revumenib.ExpectedDose) -> str:
    """The expected dose in the order's own terms: "95 mg/m2 q12h" for an mg/m2 order, else "160 mg q12h"."""
    in_m2 = ordered.unit == "mg/m2" and expected.per_m2 is not None
    amount = f"{expected.per_m2:g} mg/m2" if in_m2 or expected.value is None else f"{expected.value:g} mg"
    return f"{amount} {expected.frequency}"


def _expected_line(expected: revumenib.ExpectedDose) -> str | None:
    cited = f"[{expected.tag}, {expected.source}]. {revumenib.VERIFY_TEXT}"
    if expected.value is not None:
        how = f"{expected.basis}; {expected.why}" if expected.per_m2 is not None else expected.why
        return f"Expected dose: {expected.value:g} mg {expected.frequency} ({how}) {cited}"
    if expected.per_m2 is not None:
        return f"Expected dose: {expected.per_m2:g} mg/m2 {expected.frequency} ({expected.why}) {cited}"
    return None


def dose_part(order: DraftMedicationOrder, expected: revumenib.ExpectedDose,
              ordered: doses.OrderedDose | None) -> tuple[Part, dict | None, list[str]]:
    """(part, corrected order or None, changes made to the corrected copy)."""
    part = Part(reasons=list(expected.reasons), missing=list(expected.missing_data))
    if ordered is None and order.unreadable:
        part.verdict = "cannot-check"
        _flag(part, 15, "Revumenib order could not be read: dose not checked")  # ranks first: re-enter it
        part.reasons.append("order-not-readable")
        part.lines.append(f"The order is {order.unreadable}, so its dose was not read; check it by hand or re-enter it.")
        return part, None, []
    if ordered is None:
        part.verdict = "cannot-check"
        _flag(part, 55, "Revumenib order states no dose: cannot check it")
        part.reasons.append("dose-not-stated")
        part.lines.append("The order states no dose; it cannot be checked.")
        return part, None, []
    part.missing += [m for m in ordered.missing_data if m not in part.missing]
    verdict, why = doses.compare(ordered, expected)
    part.reasons += why
    part.lines += [line for line in (_expected_line(expected),) if line]
    if verdict == "cannot-check":
        part.verdict = "cannot-check"
        lacking = ", ".join(reason_text(m) for m in part.missing) or f"a dose in mg or mg/m2 (ordered in {ordered.unit or 'no unit'})"
        _flag(part, 55, f"Revumenib dose cannot be checked: {lacking} missing")
        return part, None, []
    if verdict == "ok":
        if not _is_label_dose(ordered, expected):
            _note_tolerated(part, ordered, expected)
        return part, None, []
    part.verdict = verdict
    shown = " ".join(p for p in (revumenib.fmt(ordered.value), ordered.unit, ordered.frequency) if p)
    where = "above" if verdict == "dose-too-high" else "below"
    _flag(part, 30, f"Revumenib {shown} is {where} the expected {_target(ordered, expected)}", unsafe=True)
    part.lines.insert(0, f"Ordered: {shown}" + (f" ({ordered.note})" if ordered.note else "") + ".")
    fixed, changes = _correction(order, ordered, expected, f"frequency-not-{expected.frequency}" in why)
    return part, fixed, changes


def _is_label_dose(ordered: doses.OrderedDose, expected: revumenib.ExpectedDose) -> bool:
    """The order is the table's dose, up to rounding to whole tablets (an mg/m2 order: the same mg/m2)."""
    if ordered.unit == "mg/m2" and expected.per_m2 is not None:
        return abs(ordered.value - expected.per_m2) <= revumenib.ROUNDING_MG
    return revumenib.is_tablet_rounding(ordered.mg, expected.value)


def _note_tolerated(part: Part, ordered: doses.OrderedDose, expected: revumenib.ExpectedDose) -> None:
    """An accepted dose that is not the label's says so: it is accepted by local policy, not matched."""
    in_m2 = ordered.unit == "mg/m2" and expected.per_m2 is not None
    got, want, unit = (ordered.value, expected.per_m2, "mg/m2") if in_m2 else (ordered.mg, expected.value, "mg")
    where = "above" if got > want else "below"
    part.reasons.append("dose-within-local-tolerance")
    gap = abs(got - want)
    part.lines.insert(0, f"Ordered {revumenib.fmt(got)} {unit} is {revumenib.fmt(gap)} {unit} ({gap / want:.0%}) {where} "
                         f"the table's {revumenib.fmt(want)} {unit}: not the label dose, accepted only by the local "
                         f"tolerance ({revumenib.tolerance_text()}). {_tagged(revumenib.dosing()['trial_doses_note'])}.")


def dosing_weight_part(expected: revumenib.ExpectedDose, on: date) -> Part:
    """A BSA-based dose computed from an old (or undated) weight: shown, and the prescriber asked to re-weigh."""
    part = Part()
    stale = revumenib.stale_measurements(expected, on)
    if not stale:
        return part
    rule = revumenib.dosing()["weight_max_age_days"]
    part.reasons.append("weight-not-recent")
    named = ", ".join(f"{m.source.reference} of {m.source.date.isoformat()} ({(on - m.source.date).days} days old)"
                      if m.source.date else f"{m.source.reference} (undated)" for m in stale)
    part.lines.append(f"The dose rests on {named}: {_tagged(rule)}")
    _flag(part, 56, "Revumenib dose by BSA from an old weight: re-weigh before dosing")
    return part


def _correction(order: DraftMedicationOrder, ordered: doses.OrderedDose, expected: revumenib.ExpectedDose,
                wrong_schedule: bool) -> tuple[dict | None, list[str]]:
    """Keep an mg/m2 order in mg/m2; otherwise whole tablets in mg."""
    if ordered.unit == "mg/m2" and expected.per_m2 is not None:
        value, unit = expected.per_m2, "mg/m2"
    elif expected.tablets_mg is not None:
        value, unit = expected.tablets_mg, "mg"
    else:
        return None, []
    return correction.corrected_order(order.resource, value, unit, expected.frequency if wrong_schedule else None)


# --- co-medications --------------------------------------------------------------------------------


def co_medications(case: Case, order: DraftMedicationOrder) -> list[tuple[str, frozenset[str], str]]:
    """(ingredient, classes, "co-order"|"active") for everything given with this revumenib order."""
    seen, out = {"revumenib"}, []
    for other in case.draft_orders:
        if other is not order and other.ingredient and other.ingredient not in seen:
            seen.add(other.ingredient)
            out.append((other.ingredient, other.classes, "co-order"))
    for med in case.medications:
        if med.active and med.ingredient not in seen and med.source.reference != order.reference:
            seen.add(med.ingredient)
            out.append((med.ingredient, med.classes, "active"))
    return out


def interaction_part(co: list[tuple[str, frozenset[str], str]], dose_adjusted_for: tuple[str, ...] = ()) -> Part:
    """Inducers and QT-prolonging drugs (strong inhibitors are handled by the dose). `dose_adjusted_for`:
    inhibitors the ordered dose is already right for (posaconazole, voriconazole also prolong QT): for them
    the card says the dose is right and asks only for ECG monitoring."""
    part = Part()
    for rule in knowledge.load("order_checks.json")["interactions"]:
        if rule["effect"] == "reduce-dose":
            continue
        names = [name for name, classes, _ in co if rule["class"] in classes]
        if not names:
            continue
        part.verdict, part.problem = "interaction", True
        part.reasons += [f"{rule['code']}:{name}" for name in names]
        adjusted = [name for name in names if name in dose_adjusted_for and "text_dose_adjusted" in rule]
        others = [name for name in names if name not in adjusted]
        rank = 40 if rule["effect"] == "avoid" else 45
        if adjusted:
            part.lines.append(f"With {', '.join(adjusted)}: {rule['text_dose_adjusted']} [{rule['tag']}]")
            _flag(part, rank, f"Revumenib with {', '.join(adjusted)}: {rule['short_dose_adjusted']}")
        if others:
            part.lines.append(f"With {', '.join(others)}: {_tagged(rule)}")
            _flag(part, rank - 1, f"Revumenib with {', '.join(others)}: {rule['short']}")
    return part


# --- pre-start safety ------------------------------------------------------------------------------


def _when(measurement: Measurement) -> str:
    return f" on {measurement.source.date.isoformat()}" if measurement.source.date else ""


def _too_old(case: Case, result: Measurement, code: str, label: str, rules: dict, part: Part) -> bool:
    """A pre-start result older than the table allows (or undated) is shown, asked for again, and not judged."""
    limit = rules["result_max_age_days"]
    when = result.source.date
    if when is not None and (case.reference_date - when).days <= limit["value"]:
        return False
    part.missing.append(code)
    part.reasons.append(f"{code}-not-recent")
    age = f"{(case.reference_date - when).days} days old" if when else "undated"
    part.lines.append(f"{label}{_when(result)} is {age}: {_tagged(limit)}.")
    return True


def prestart_part(case: Case) -> Part:
    rules = revumenib.table()["pre_start"]
    part = Part()
    _qtc(case, rules, part)
    for code, limit_key in (("potassium", "potassium_min_mmol_l"), ("magnesium", "magnesium_min_mmol_l")):
        value = getattr(case, code)
        limit = rules[limit_key]
        if value is None:  # none on record, or none in a unit that converts to mmol/L (never compared raw)
            part.missing.append(code)
            part.lines.append(f"No {code} in a readable unit on record: {_tagged(rules['electrolytes'])}.")
        elif _too_old(case, value, code, f"{code.capitalize()} {revumenib.fmt(value.value)} mmol/L", rules, part):
            pass
        elif value.value < limit["value"]:
            part.reasons.append(f"{code}-low")
            _flag(part, 50, f"Correct {code} before starting revumenib ({revumenib.fmt(value.value)} mmol/L)")
            # the limit is the usual range, not the lab's: its text says the lab's own range prevails
            part.lines.append(f"{code.capitalize()} {revumenib.fmt(value.value)} mmol/L{_when(value)} is below {limit['value']} mmol/L "
                              f"({_tagged(limit)}): {_tagged(rules['electrolytes'])}.")
    wbc, limit = case.wbc_latest, rules["wbc_max_10e9_l"]
    if wbc is None:
        part.missing.append("wbc")
        part.lines.append(f"No WBC on record: {_tagged(limit)}.")
    elif _too_old(case, wbc, "wbc", f"WBC {revumenib.fmt(wbc.value)} x10^9/L", rules, part):
        pass
    elif wbc.value >= limit["value"]:
        part.reasons.append("wbc-above-start-limit")
        _flag(part, 48, f"Reduce WBC below {limit['value']} x10^9/L before starting revumenib")
        part.lines.append(f"WBC {revumenib.fmt(wbc.value)} x10^9/L{_when(wbc)}: {_tagged(limit)}.")
    if part.missing:
        _flag(part, 58, "Before starting revumenib: " + ", ".join(reason_text(m) for m in part.missing) + " missing")
    return part


def _qtc(case: Case, rules: dict, part: Part) -> None:
    limit, qtc = rules["qtcf_max_ms"], case.qtc
    if qtc is None:
        part.missing.append("qtc")
        part.lines.append(f"No ECG on record: obtain a baseline ECG with QTcF before the first dose ({_tagged(limit)}).")
        return
    if qtc.method != rules["qtc_method"]["value"]:
        part.missing.append("qtc")
        part.reasons.append(f"qtc-method:{qtc.method or 'unknown'}")
        part.lines.append(f"QTc {revumenib.fmt(qtc.value)} ms{_when(qtc)} is not Fridericia-corrected ({qtc.method or 'method not stated'}): "
                          f"obtain QTcF; {_tagged(limit)}.")
        return
    if _too_old(case, qtc, "qtc", f"QTcF {revumenib.fmt(qtc.value)} ms", rules, part):
        return
    if qtc.value > limit["value"]:
        part.verdict = "do-not-start"
        part.reasons.append("qtcf-above-limit")
        _flag(part, 20, f"Do not start revumenib: QTcF {revumenib.fmt(qtc.value)} ms > {limit['value']} ms", unsafe=True)
        part.lines.append(f"QTcF {revumenib.fmt(qtc.value)} ms{_when(qtc)}: {_tagged(limit)}. Correct potassium and magnesium, review QT-prolonging drugs, repeat the ECG.")
    else:
        part.lines.append(f"QTcF {revumenib.fmt(qtc.value)} ms{_when(qtc)} is within the start limit ({limit['value']} ms).")


# --- the whole check -------------------------------------------------------------------------------


def medications_part() -> Part:
    """The medication list was not available: strong CYP3A4 inhibitors and inducers are unknown."""
    part = Part(verdict="cannot-check", missing=["medications"])
    _flag(part, 57, "Revumenib: medication list not available, CYP3A4 inhibitors unknown")
    part.lines.append("The medication list could not be read for this call: the expected dose assumes no strong "
                      "CYP3A4 inhibitor, and inducers or QT-prolonging drugs could not be checked.")
    return part


def check_revumenib(case: Case, order: DraftMedicationOrder, medications_unknown: bool = False) -> OrderCheck:
    co = co_medications(case, order)
    klass = revumenib.dosing()["inhibitor_class"]
    draft_inhibitors = [name for name, classes, where in co if where == "co-order" and klass in classes]
    expected = revumenib.expected_dose(case, draft_inhibitors)
    ordered = doses.ordered_dose(case, order)
    dose, fixed, changes = dose_part(order, expected, ordered)
    dose_adjusted_for = revumenib.strong_cyp3a4_inhibitors(case, draft_inhibitors) if dose.verdict == "ok" else ()
    others = [indication_part(case), interaction_part(co, dose_adjusted_for),
              dosing_weight_part(expected, case.reference_date)]
    if medications_unknown:
        others.append(medications_part())
    continuing = revumenib.on_treatment(case)
    if not continuing:  # the pre-start checks are for the first dose
        others.append(prestart_part(case))
    parts = [dose, *others]
    verdict = worst(p.verdict for p in parts)
    return OrderCheck(
        order=order.reference, medication="revumenib", verdict=verdict, kind="menin-inhibitor",
        summary=_summary(parts, dose, ordered, expected), lines=_lines(parts, continuing),
        ordered_dose=ordered.as_contract() if ordered else None, expected_dose=_expected_contract(expected, ordered),
        reasons=tuple(dict.fromkeys(r for p in parts for r in p.reasons)),
        missing_data=tuple(dict.fromkeys(m for p in parts for m in p.missing)),
        sources=_sources(), unsafe=any(p.unsafe for p in parts), problem=any(p.problem for p in parts),
        corrected=fixed, correction_label=_correction_label(fixed),
        correction_text=_correction_text(fixed, changes) if fixed is not None else None,
        override_group=_override_group(verdict),
    )


def _summary(parts: list[Part], dose: Part, ordered: doses.OrderedDose | None, expected: revumenib.ExpectedDose) -> str:
    lead = min(parts, key=lambda p: p.rank)
    if lead.rank == 99:
        return _ok_summary(ordered, expected, "dose-within-local-tolerance" in dose.reasons)
    if dose.verdict.startswith("dose-") and lead is not dose:  # a wrong dose is never left out of the summary
        return f"{lead.summary}; dose {dose.verdict.removeprefix('dose-').replace('-', ' ')}"
    return lead.summary


def _sources() -> tuple[str, ...]:
    """The label first (the card's source), then the sources of the warnings and trial doses the card cites."""
    entry = revumenib.table()
    cited = [entry["source"], *(w["source"] for w in entry["warnings"].values()),
             entry["dosing"]["trial_doses_note"]["source"]]
    return tuple(dict.fromkeys(cited))


def _lines(parts: list[Part], continuing: bool) -> tuple[str, ...]:
    warnings = revumenib.table()["warnings"]
    lines = [line for p in sorted(parts, key=lambda p: p.rank) for line in p.lines]
    if continuing:
        lines.append("Patient already on revumenib: pre-start checks not repeated; " + _tagged(warnings["ecg_schedule"]))
    return tuple(lines + [_tagged(warnings["boxed"]), _tagged(warnings["differentiation_syndrome"])])


def _expected_contract(expected: revumenib.ExpectedDose, ordered: doses.OrderedDose | None) -> dict | None:
    if expected.value is not None:
        return {"value": expected.value, "unit": "mg", "frequency": expected.frequency, "basis": expected.basis}
    if expected.per_m2 is not None and ordered is not None and ordered.unit == "mg/m2":
        return {"value": expected.per_m2, "unit": "mg/m2", "frequency": expected.frequency}
    return None


def _override_group(verdict: str) -> str:
    if verdict == "not-indicated":
        return "indication"
    if verdict.startswith("dose-"):
        return "dose"
    return "interaction" if verdict == "interaction" else "safety"


def _ok_summary(ordered: doses.OrderedDose | None, expected: revumenib.ExpectedDose, tolerated: bool) -> str:
    if ordered is None or (expected.value is None and expected.per_m2 is None):
        return "Revumenib: indication and dose checked"
    shown = " ".join(part for part in (revumenib.fmt(ordered.value), ordered.unit, ordered.frequency) if part)
    if tolerated:
        return f"Revumenib {shown} is within the local tolerance of the expected {_target(ordered, expected)}"
    return f"Revumenib {shown} matches the expected {_target(ordered, expected)}"


def _dose_of(fixed: dict) -> dict:
    for dosage in fixed.get("dosageInstruction") or []:
        for rate in dosage.get("doseAndRate") or []:
            if "doseQuantity" in rate:
                return rate["doseQuantity"]
    return {}


def _correction_label(fixed: dict | None) -> str | None:
    if fixed is None:
        return None
    quantity = _dose_of(fixed)
    return f"Change revumenib to {revumenib.fmt(quantity['value'])} {quantity['unit']} every 12 hours"


def _correction_text(fixed: dict, changes: list[str]) -> str:
    quantity = _dose_of(fixed)
    tablets = revumenib.tablets_for(quantity["value"]) if quantity["unit"] == "mg" else None
    text = (f"Update this revumenib order to {revumenib.fmt(quantity['value'])} {quantity['unit']} every 12 hours"
            f"{f' ({tablets} tablets)' if tablets else ''}, the dose of the label table. {revumenib.VERIFY_TEXT}")
    if changes:
        text += " Also: " + "; ".join(changes) + "."
    return text
