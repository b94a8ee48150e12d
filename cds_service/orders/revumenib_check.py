"""The revumenib order check: indication, dose, co-medications and pre-start safety, merged into one
OrderCheck per order (one card, one verdict; every finding is a reason or a detail line).

Verdict: the most consequential one (model.VERDICT_PRIORITY: not-indicated > do-not-start > dose-too-high >
dose-too-low > interaction > cannot-check > ok). Pre-start safety (QTcF, potassium, magnesium, WBC) is reported
in reasons and missingData; a QTcF above the start limit gives "do-not-start" (critical at order-sign).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from cds_service import knowledge
from cds_service.stratification import menin_inhibitors as revumenib
from cds_service.orders import correction, doses, on_treatment
from cds_service.orders.model import OrderCheck, worst
from cds_service.stratification.text import day, number
from cds_service.orders.wording import (dose_instruction, frequency_words, monitoring_lines, monitoring_summary,
                                     reason_text, revumenib_says as say, short_reason, shown_dose, tablets_made)
from fhir_mappings import medications
from fhir_mappings import terminology as term
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
    findings: list[str] = field(default_factory=list)  # codes of card_policy.json "order_checks"
    group: str | None = None  # override-reason group of the part's lead finding


def _flag(part: Part, rank: int, summary: str, unsafe: bool = False, finding: str | None = None,
          group: str = "safety") -> None:
    """Mark a problem; the most consequential one (lowest rank) names the part."""
    part.problem = True
    part.unsafe = part.unsafe or unsafe
    if finding:
        part.findings.append(finding)
    if rank < part.rank:
        part.rank, part.summary, part.group = rank, summary, group


def _tagged(item: dict) -> str:
    return say("knowledge", text=item["text"], tag=item["tag"])


# --- indication ------------------------------------------------------------------------------------


def indication_part(case: Case) -> Part:
    found = revumenib.eligibility(case)
    part = Part(reasons=list(found.reasons), missing=list(found.missing_data))
    if found.verdict == "eligible":
        return part
    if found.verdict == "cannot-check":
        lacking = ", ".join(reason_text(m) for m in found.missing_data)
        part.verdict = "cannot-check"
        _flag(part, 60, say("s-indication-cannot-check", lacking=lacking), finding="indication-cannot-check",
              group="missing-data")
        part.lines.append(say("indication-cannot-check", lacking=lacking))
        return part
    part.verdict, part.unsafe, part.problem, part.rank, part.group = "not-indicated", True, True, 10, "indication"
    part.findings.append("not-indicated")
    first = next(r for r in found.reasons if r not in ("kmt2a-rearranged", "npm1-mutated-aml", "relapsed", "refractory"))
    label = "off-label" if found.verdict == "off-label-age" else "not indicated"
    part.summary = say("s-not-indicated", label=label, why=short_reason(first))
    texts = " or ".join(i["text"] for i in revumenib.table()["indications"])
    part.lines.append(say("indication-not", label=label, texts=texts))
    part.lines += [say("reason", text=reason_text(r)) for r in found.reasons]
    return part


# --- dose ------------------------------------------------------------------------------------------


def _target(ordered: doses.OrderedDose, expected: revumenib.ExpectedDose) -> str:
    """The expected dose in the order's own terms: "95 mg/m2 q12h" for an mg/m2 order, else "160 mg q12h"."""
    in_m2 = ordered.unit == "mg/m2" and expected.per_m2 is not None
    amount = f"{number(expected.per_m2)} mg/m2" if in_m2 or expected.value is None else f"{number(expected.value)} mg"
    return f"{amount} {frequency_words(expected.frequency)}"


def _expected_line(expected: revumenib.ExpectedDose) -> str | None:
    common = dict(when=frequency_words(expected.frequency), tag=expected.tag, verify=revumenib.VERIFY_TEXT)
    if expected.value is not None:
        how = f"{expected.basis}; {expected.why}" if expected.per_m2 is not None else expected.why
        given = ""
        if expected.per_m2 is not None and expected.tablets_mg is not None:  # the stated rounding rule, applied
            given = say("expected-given", mg=number(expected.tablets_mg), made=composition(expected.tablets_mg))
        return say("expected-mg", value=number(expected.value), how=how, given=given, **common)
    if expected.per_m2 is not None:
        return say("expected-m2", per_m2=number(expected.per_m2), why=expected.why, **common)
    return None


def dose_part(order: DraftMedicationOrder, expected: revumenib.ExpectedDose,
              ordered: doses.OrderedDose | None) -> tuple[Part, dict | None, list[str]]:
    """(part, corrected order or None, changes made to the corrected copy)."""
    part = Part(reasons=list(expected.reasons), missing=list(expected.missing_data))
    if ordered is None and order.unreadable:
        part.verdict = "cannot-check"
        _flag(part, 15, say("s-unreadable"), finding="order-not-readable")  # ranks first: re-enter it
        part.reasons.append("order-not-readable")
        part.lines.append(say("unreadable", why=order.unreadable))
        return part, None, []
    if ordered is None:
        part.verdict = "cannot-check"
        _flag(part, 55, say("s-no-dose"), finding="dose-not-stated")
        part.reasons.append("dose-not-stated")
        part.lines.append(say("no-dose"))
        return part, None, []
    part.missing += [m for m in ordered.missing_data if m not in part.missing]
    verdict, why = doses.compare(ordered, expected)
    part.reasons += why
    expected_line = _expected_line(expected)
    part.lines += [expected_line] if expected_line else []  # always: the label numbers are to be verified
    if verdict == "cannot-check":
        part.verdict = "cannot-check"
        lacking = ", ".join(reason_text(m) for m in part.missing) or f"a dose in mg or mg/m2 (ordered in {ordered.unit or 'no unit'})"
        _flag(part, 55, say("s-dose-cannot-check", lacking=lacking), finding="dose-cannot-check",
              group="missing-data")
        return part, None, []
    if verdict == "ok":
        if not _is_label_dose(ordered, expected):
            _note_tolerated(part, ordered, expected)
        _dispensing(part, ordered)
        return part, None, []
    part.verdict = verdict
    shown = shown_dose(ordered)
    where = "above" if verdict == "dose-too-high" else "below"
    _flag(part, 30 if verdict == "dose-too-high" else 35, say("s-dose-wrong", shown=shown, where=where, target=_target(ordered, expected)),
          unsafe=verdict == "dose-too-high", finding=verdict, group="dose-high" if verdict == "dose-too-high" else "dose-low")
    part.lines.insert(0, say("ordered", shown=shown, note=f" ({ordered.note})" if ordered.note else ""))
    fixed, changes = _correction(order, ordered, expected)
    return part, fixed, changes


def _dispensing(part: Part, ordered: doses.OrderedDose) -> None:
    """An mg dose whole tablets cannot make is flagged with the nearest amounts they can make."""
    if ordered.unit != "mg" or ordered.mg is None or revumenib.is_dispensable(ordered.mg):
        return
    nearest = revumenib.nearest_dispensable(ordered.mg)
    made = "; ".join(f"{number(a)} mg = {composition(a)}" for a in nearest)
    part.reasons.append("dose-not-dispensable")
    part.verdict = "dose-not-dispensable"
    _flag(part, 52, say("s-not-dispensable", mg=number(ordered.mg)), finding="dose-not-dispensable", group="dispensing")
    *smaller, largest = [number(s) for s in sorted(revumenib.dosing()["tablet_strengths_mg"]["values"])]
    strengths = f"{', '.join(smaller)} and {largest}" if smaller else largest
    part.lines.insert(0, say("not-dispensable", mg=number(ordered.mg), made=made, strengths=strengths))


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
    part.findings.append("dose-within-local-tolerance")
    gap = abs(got - want)
    part.lines.insert(0, say("tolerated", got=number(got), unit=unit, gap=number(gap), share=gap / want, where=where,
                             want=number(want), tolerance=revumenib.tolerance_text(),
                             trial=_tagged(revumenib.dosing()["trial_doses_note"])))


def dosing_weight_part(expected: revumenib.ExpectedDose, on: date) -> Part:
    """A BSA-based dose computed from an old (or undated) weight: shown, and the prescriber asked to re-weigh."""
    part = Part()
    stale = revumenib.stale_measurements(expected, on)
    if not stale:
        return part
    rule = revumenib.dosing()["weight_max_age_days"]
    part.reasons.append("weight-not-recent")
    # by content and date, never by FHIR id: "weight 24 kg of 2026-07-02 (142 days old)"
    kind = {"kg": "weight", "m2": "BSA"}
    named = ", ".join(f"{kind.get(m.unit, m.unit)} {number(m.value)} {m.unit}"
                      + (f" of {day(m.source.date)} ({(on - m.source.date).days} days old)" if m.source.date
                         else " (undated)") for m in stale)
    part.lines.append(say("old-weight", named=named, rule=_tagged(rule)))
    _flag(part, 56, say("s-old-weight"), finding="weight-not-recent",
          group="monitoring")
    return part


def _correction(order: DraftMedicationOrder, ordered: doses.OrderedDose,
                expected: revumenib.ExpectedDose) -> tuple[dict | None, list[str]]:
    """An mg/m2 order stays in mg/m2; otherwise whole tablets in mg. The schedule is always written out, the text
    rewritten, and a product whose strength cannot make the dose replaced by the ingredient's tablets."""
    if ordered.unit == "mg/m2" and expected.per_m2 is not None:
        value, unit = expected.per_m2, "mg/m2"
    elif expected.tablets_mg is not None:
        value, unit = expected.tablets_mg, "mg"
    else:
        return None, []
    given_mg = expected.tablets_mg  # what the pharmacy gives (the rounding rule), None without a BSA
    strength = order.product_strength_mg
    most = revumenib.dosing()["max_tablets_per_dose"]
    keeps = strength is None or (given_mg is not None and abs(given_mg / strength - round(given_mg / strength)) < 1e-9
                                 and round(given_mg / strength) <= most)
    product = None if keeps else ingredient_product("revumenib")
    made = composition(given_mg, strength if keeps else None) if given_mg is not None else None
    text = dose_instruction(value, unit, given_mg, made, order.dose.route if order.dose else None, expected.frequency)
    return correction.corrected_order(order.resource, value, unit, expected.frequency, text=text, product=product)


def ingredient_product(ingredient: str) -> dict:
    """The medication as the ingredient's oral tablets (any strength): RxNorm ingredient code when we have one."""
    rxcui = medications.ingredient_rxcui(ingredient)
    concept = {"text": f"{ingredient} oral tablet"}
    if rxcui:
        concept["coding"] = [{"system": term.system_uri("rxnorm"), "code": rxcui, "display": ingredient}]
    return concept


def composition(mg: float, strength: float | None = None) -> str | None:
    """"1 x 160 mg + 1 x 110 mg tablets" (fewest tablets), or "2 x 160 mg tablets" with a fixed product strength."""
    if strength is not None:
        count = round(mg / strength)
        return tablets_made(f"{count} x {number(strength)} mg", count)
    made = revumenib.tablets_for(mg)
    return tablets_made(made, sum(int(part.split(" x ")[0]) for part in made.split(" + "))) if made else None


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


def qt_level(case: Case, ingredient: str) -> str:
    """"qt-prolonging-warning" or "qt-prolonging-info" for a QT-prolonging drug given with revumenib: graded by
    the drug's risk and the latest QTcF (knowledge: order_checks.json "qt_prolonging_grading")."""
    grading = knowledge.load("order_checks.json")["qt_prolonging_grading"]
    qtc = case.qtc
    recent = (qtc is not None and qtc.method == "QTcF" and qtc.source.date is not None
              and (case.reference_date - qtc.source.date).days <= grading["recent_ecg_days"])
    normal = recent and qtc.value <= grading["normal_qtcf_max_ms"]
    return "qt-prolonging-info" if normal and ingredient not in grading["high_risk"] else "qt-prolonging-warning"


def interaction_part(co: list[tuple[str, frozenset[str], str]], dose_adjusted_for: tuple[str, ...] = (),
                     case: Case | None = None) -> Part:
    """Inducers and QT-prolonging drugs (strong inhibitors are handled by the dose). `dose_adjusted_for`:
    inhibitors the ordered dose is already right for (posaconazole, voriconazole also prolong QT): no warning for
    the inhibitor; their QT effect is graded like any QT-prolonging drug (risk and latest QTcF)."""
    part = Part()
    for rule in knowledge.load("order_checks.json")["interactions"]:
        if rule["effect"] == "reduce-dose":
            continue
        names = [name for name, classes, _ in co if rule["class"] in classes]
        if not names:
            continue
        part.verdict = "interaction"
        part.reasons += [f"{rule['code']}:{name}" for name in names]
        rank = 40 if rule["effect"] == "avoid" else 45
        if rule["code"] != "qt-prolonging":
            part.lines.append(say("interaction", names=", ".join(names), rule=_tagged(rule)))
            _flag(part, rank - 1, say("s-interaction", names=", ".join(names), short=rule["short"]), finding="inducer",
                  group="interaction")
            continue
        levels = {name: (qt_level(case, name) if case is not None else "qt-prolonging-warning") for name in names}
        warned = [n for n in names if levels[n] == "qt-prolonging-warning"]
        calm = [n for n in names if n not in warned]
        adjusted = [n for n in names if n in dose_adjusted_for]
        if adjusted:
            part.findings.append("inhibitor-accounted-for")
            part.lines.append(say("inhibitor-accounted", names=", ".join(adjusted), tag=rule["tag"]))
        if warned:
            part.lines.append(say("interaction", names=", ".join(warned), rule=_tagged(rule)))
            _flag(part, rank - 1, say("s-interaction", names=", ".join(warned), short=rule["short"]), finding="qt-prolonging-warning",
                  group="interaction")
        if calm:
            part.findings.append("qt-prolonging-info")
            part.lines.append(say("qt-calm", names=", ".join(calm), tag=rule["tag"]))
            if part.summary is None:
                part.summary, part.rank = say("s-interaction", names=", ".join(calm), short=rule["short_info"]), 90
    return part


# --- pre-start safety ------------------------------------------------------------------------------


def _when(measurement: Measurement) -> str:
    return f" on {day(measurement.source.date)}" if measurement.source.date else ""


def _too_old(case: Case, result: Measurement, code: str, label: str, rules: dict, part: Part) -> bool:
    """A pre-start result older than the table allows (or undated) is shown, asked for again, and not judged."""
    limit = rules["result_max_age_days"]
    when = result.source.date
    if when is not None and (case.reference_date - when).days <= limit["value"]:
        return False
    part.missing.append(code)
    part.reasons.append(f"{code}-not-recent")
    age = f"{(case.reference_date - when).days} days old" if when else "undated"
    part.lines.append(say("too-old", label=label, when=_when(result), age=age, rule=_tagged(limit)))
    return True


def prestart_part(case: Case) -> Part:
    rules = revumenib.table()["pre_start"]
    part = Part()
    _qtc(case, rules, part)
    absent = []
    for code, limit_key in (("potassium", "potassium_min_mmol_l"), ("magnesium", "magnesium_min_mmol_l")):
        value = getattr(case, code)
        limit = rules[limit_key]
        if value is None:  # none on record, or none in a unit that converts to mmol/L (never compared raw)
            part.missing.append(code)
            absent.append(code)
        elif _too_old(case, value, code, f"{code.capitalize()} {number(value.value)} mmol/L", rules, part):
            pass
        elif value.value < limit["value"]:
            part.reasons.append(f"{code}-low")
            _flag(part, 50, say("s-electrolyte-low", name=code, value=number(value.value)),
                  finding="electrolytes-low")
            # the limit is the usual range, not the lab's: its text says the lab's own range prevails
            part.lines.append(say("electrolyte-low", label=code.capitalize(), value=number(value.value), when=_when(value),
                                  limit=number(limit["value"]), limit_rule=_tagged(limit), rule=_tagged(rules["electrolytes"])))
    if absent:  # one line for both: the boxed warning's sentence once, not twice
        part.lines.append(say("electrolyte-missing", name=" or ".join(absent), rule=_tagged(rules["electrolytes"])))
    wbc, limit = case.wbc_latest, rules["wbc_max_10e9_l"]
    if wbc is None:
        part.missing.append("wbc")
        part.lines.append(say("no-wbc", rule=_tagged(limit)))
    elif _too_old(case, wbc, "wbc", f"WBC {number(wbc.value)} x10^9/L", rules, part):
        pass
    elif wbc.value >= limit["value"]:
        part.reasons.append("wbc-above-start-limit")
        _flag(part, 48, say("s-wbc-high", limit=number(limit["value"])), finding="wbc-above-start-limit")
        part.lines.append(say("wbc-high", value=number(wbc.value), when=_when(wbc), rule=_tagged(limit)))
    if part.missing:
        _flag(part, 58, say("s-prestart-missing", lacking=", ".join(reason_text(m) for m in part.missing)),
              finding="prestart-data-missing", group="missing-data")
    return part


def _qtc(case: Case, rules: dict, part: Part) -> None:
    limit, qtc = rules["qtcf_max_ms"], case.qtc
    if qtc is None:
        part.missing.append("qtc")
        part.lines.append(say("no-ecg", rule=_tagged(limit)))
        return
    if qtc.method != rules["qtc_method"]["value"]:
        part.missing.append("qtc")
        part.reasons.append(f"qtc-method:{qtc.method or 'unknown'}")
        part.lines.append(say("not-fridericia", value=number(qtc.value), when=_when(qtc),
                              method=qtc.method or "method not stated", rule=_tagged(limit)))
        return
    if _too_old(case, qtc, "qtc", f"QTcF {number(qtc.value)} ms", rules, part):
        return
    if qtc.value > limit["value"]:
        part.verdict = "do-not-start"
        part.reasons.append("qtcf-above-limit")
        _flag(part, 20, say("s-do-not-start", value=number(qtc.value), limit=number(limit["value"])), unsafe=True,
              finding="do-not-start", group="qtc")
        part.lines.append(say("qtcf-above-start", value=number(qtc.value), when=_when(qtc), rule=_tagged(limit)))
    else:
        part.lines.append(say("qtcf-ok", value=number(qtc.value), when=_when(qtc), limit=number(limit["value"])))


# --- on treatment: a continuation order ------------------------------------------------------------


def on_treatment_part(case: Case) -> Part:
    """A continuation order: the on-treatment QTcF limits, the ECG schedule and the electrolytes (data from
    orders.on_treatment, words from orders.wording)."""
    part = Part()
    found = on_treatment.monitoring(case)
    if found is None:
        return part
    # the continuation order's own dose is judged by dose_part; the active order it continues is not this card's
    found = replace(found, findings=tuple(f for f in found.findings if f != "current-dose-above-label"), dose=None)
    part.lines += monitoring_lines(found)
    summary = monitoring_summary(found)
    if "qtcf-above-interrupt-limit" in found.findings:
        part.verdict = "hold"
        part.reasons.append(f"qtcf-above-interrupt-limit:{found.qtc_action.rule['code']}")
    for finding in found.findings:
        rank, group = {"qtcf-above-interrupt-limit": (18, "qtc"), "qtc-above-limit-not-fridericia": (42, "qtc"),
                       "ecg-overdue": (47, "monitoring"), "electrolytes-low": (50, "monitoring"),
                       "electrolytes-missing": (54, "monitoring")}[finding]
        _flag(part, rank, summary or "", unsafe=finding == "qtcf-above-interrupt-limit", finding=finding, group=group)
        part.reasons.append(finding)
    return part


# --- the whole check -------------------------------------------------------------------------------


def medications_part() -> Part:
    """The medication list was not available: strong CYP3A4 inhibitors and inducers are unknown."""
    part = Part(verdict="cannot-check", missing=["medications"])
    _flag(part, 57, say("s-medications-unknown"), finding="medications-unknown", group="missing-data")
    part.lines.append(say("medications-unknown"))
    return part


def check_revumenib(case: Case, order: DraftMedicationOrder, medications_unknown: bool = False) -> OrderCheck:
    co = co_medications(case, order)
    klass = revumenib.dosing()["inhibitor_class"]
    draft_inhibitors = [name for name, classes, where in co if where == "co-order" and klass in classes]
    expected = revumenib.expected_dose(case, draft_inhibitors)
    ordered = doses.ordered_dose(case, order)
    dose, fixed, changes = dose_part(order, expected, ordered)
    dose_adjusted_for = revumenib.strong_cyp3a4_inhibitors(case, draft_inhibitors) if dose.verdict == "ok" else ()
    others = [indication_part(case), interaction_part(co, dose_adjusted_for, case),
              dosing_weight_part(expected, case.reference_date)]
    if medications_unknown:
        others.append(medications_part())
    continuing = revumenib.on_treatment(case)
    # a first order gets the pre-start checks; a continuation is checked like a first order (dose, inhibitors,
    # QTc) with the on-treatment limits instead of the pre-start ones
    others.append(on_treatment_part(case) if continuing else prestart_part(case))
    parts = [dose, *others]
    verdict = worst(p.verdict for p in parts)
    findings = tuple(dict.fromkeys(f for p in parts for f in p.findings))
    lead = min(parts, key=lambda p: p.rank)
    return OrderCheck(
        order=order.reference, medication="revumenib", verdict=verdict, kind="menin-inhibitor",
        summary=_summary(parts, dose, ordered, expected), lines=_lines(parts),
        ordered_dose=ordered.as_contract() if ordered else None, expected_dose=_expected_contract(expected, ordered),
        reasons=tuple(dict.fromkeys(r for p in parts for r in p.reasons)),
        missing_data=tuple(dict.fromkeys(m for p in parts for m in p.missing)),
        sources=_sources(), unsafe=any(p.unsafe for p in parts), problem=any(p.problem for p in parts),
        corrected=fixed, correction_label=_correction_label(fixed),
        correction_text=_correction_text(fixed, changes) if fixed is not None else None,
        override_group=lead.group or _override_group(verdict), findings=findings,
    )


def _summary(parts: list[Part], dose: Part, ordered: doses.OrderedDose | None, expected: revumenib.ExpectedDose) -> str:
    lead = min(parts, key=lambda p: p.rank)
    if lead.rank >= 90:  # nothing to act on (an info-level note does not name the card)
        return _ok_summary(ordered, expected, "dose-within-local-tolerance" in dose.reasons)
    if dose.verdict.startswith("dose-") and lead is not dose:  # a wrong dose is never left out of the summary
        return say("s-and-dose", lead=lead.summary, what=dose.verdict.removeprefix("dose-").replace("-", " "))
    return lead.summary


def _sources() -> tuple[str, ...]:
    """The label first (the card's source), then the sources of the warnings and trial doses the card cites."""
    entry = revumenib.table()
    cited = [entry["source"], *(w["source"] for w in entry["warnings"].values()),
             entry["dosing"]["trial_doses_note"]["source"]]
    return tuple(dict.fromkeys(cited))


def _lines(parts: list[Part]) -> tuple[str, ...]:
    warnings = revumenib.table()["warnings"]
    # Problems first, most consequential first; among notes (rank 90 and above) the dose leads, since the card
    # is cut to its word budget from the end.
    lines = [line for p in sorted(parts, key=lambda p: min(p.rank, 90)) for line in p.lines]
    return tuple(lines + [_tagged(warnings["boxed"])])


def _expected_contract(expected: revumenib.ExpectedDose, ordered: doses.OrderedDose | None) -> dict | None:
    if expected.value is not None:
        return {"value": expected.value, "unit": "mg", "frequency": expected.frequency, "basis": expected.basis}
    if expected.per_m2 is not None and ordered is not None and ordered.unit == "mg/m2":
        return {"value": expected.per_m2, "unit": "mg/m2", "frequency": expected.frequency}
    return None


def _override_group(verdict: str) -> str:
    return {"not-indicated": "indication", "dose-too-high": "dose-high", "dose-too-low": "dose-low",
            "dose-not-dispensable": "dispensing", "interaction": "interaction"}.get(verdict, "safety")


def _ok_summary(ordered: doses.OrderedDose | None, expected: revumenib.ExpectedDose, tolerated: bool) -> str:
    if ordered is None or (expected.value is None and expected.per_m2 is None):
        return say("s-checked")
    return say("s-tolerated" if tolerated else "s-matches", shown=shown_dose(ordered), target=_target(ordered, expected))


def _correction_label(fixed: dict | None) -> str | None:
    if fixed is None:
        return None
    return say("correction-label", text=fixed["dosageInstruction"][0]["text"])


def _correction_text(fixed: dict, changes: list[str]) -> str:
    text = say("correction-text", text=fixed["dosageInstruction"][0]["text"], verify=revumenib.VERIFY_TEXT)
    return text + (say("correction-also", changes="; ".join(changes)) if changes else "")
