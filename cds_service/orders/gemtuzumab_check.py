"""The gemtuzumab ozogamicin (Mylotarg) order check, from knowledge/gemtuzumab_ozogamicin.json.

- indication: CD33-positive AML (a CD33 result on record, else named as missing); age by setting
- regimen by setting and age: the label doses per administration (adult fractionated 3 mg/m2 capped at one
  4.5 mg vial; adult single-agent 6 / 3 / 2 mg/m2; paediatric 3 mg/m2, or 0.1 mg/kg under 0.6 m2; relapsed
  single-agent 3 mg/m2 capped) and the number of doses a cycle
- the VOD/SOS boxed warning, higher after a transplant; hyperleukocytosis (cytoreduce first); premedication
Data the check needs and cannot find is named, never read as "none": no age (the label's age limits and the adult
or child regimen), no WBC (hyperleukocytosis), a transplant history that could not be read (the Procedures).
An overdose is `critical` (policy table); the supporting evidence in KMT2A-rearranged AML is a line, not a card.
"""

from __future__ import annotations

from dataclasses import dataclass

from cds_service import knowledge
from cds_service.orders import doses
from cds_service.orders.model import OrderCheck
from cds_service.orders.wording import gemtuzumab_lines, gemtuzumab_summary
from cds_service.stratification.text import day as day_text, months, number
from cds_service.stratification import kb, menin_inhibitors as menin
from fhir_mappings.case import Case, DiseaseStatus, DraftMedicationOrder, Kmt2aStatus, Lineage

RELAPSED = {DiseaseStatus.RELAPSED, DiseaseStatus.REFRACTORY}
MEDICATION = "gemtuzumab-ozogamicin"
# findings that ask for data before the order can be judged (the card's override reasons: "missing-data")
MISSING_FINDINGS = {"cd33-missing", "age-missing", "wbc-missing", "transplant-history-unknown"}


def table() -> dict:
    return knowledge.load("gemtuzumab_ozogamicin.json")


def _on(day) -> str:
    return f" on {day_text(day)}" if day else ""


@dataclass(frozen=True)
class RegimenDose:
    regimen: dict
    mg: float  # per administration, for this patient (BSA or weight, vial cap applied)
    basis: str  # "3 mg/m2 x 1.9 m2 = 5.7 mg, capped at one 4.5 mg vial"


def _setting(case: Case) -> list[str]:
    if case.disease_status in RELAPSED:
        return ["relapsed", "refractory"]
    if case.disease_status is DiseaseStatus.UNKNOWN:
        return ["newly-diagnosed", "relapsed", "refractory"]
    return ["newly-diagnosed"]  # newly diagnosed, or consolidation in remission


def candidate_regimens(case: Case) -> list[dict]:
    """The label regimens for this patient's setting and age (all of them when the age is not known)."""
    years = menin.age_years(case)
    settings = _setting(case)
    out = []
    for regimen in table()["regimens"]:
        if not set(regimen["settings"]) & set(settings):
            continue
        adult = regimen["adult"]
        if adult is not None and years is not None and adult != (years >= kb.threshold("adult_min_years")):
            continue
        out.append(regimen)
    return out


def regimen_doses(case: Case, regimen: dict) -> list[RegimenDose] | None:
    """Every per-administration dose of a regimen for this patient; None when BSA (or weight) is missing."""
    vial = table()["vial_mg"]["value"]
    below = regimen.get("per_dose_mg_kg_below_bsa")
    if case.bsa is None:
        return None
    bsa = menin.dosing_bsa(case)
    if below and bsa < below["bsa_m2"]:
        if case.weight is None:
            return None
        mg = below["mg_kg"] * case.weight.value
        return [RegimenDose(regimen, round(mg, 2), f"{number(below['mg_kg'])} mg/kg x {number(case.weight.value)} kg "
                                                    f"(BSA {number(bsa)} m2 is under {number(below['bsa_m2'])} m2)")]
    # a regimen whose doses differ (single agent: day 1, day 8, continuation) lists each one
    per_m2 = regimen.get("per_dose_mg_m2_each") or [regimen["per_dose_mg_m2"]]
    out = []
    for value in per_m2:
        mg = value * bsa
        basis = f"{number(value)} mg/m2 x {number(bsa)} m2 = {number(mg)} mg"
        if regimen.get("cap_mg") is not None and mg > regimen["cap_mg"]:
            mg, basis = regimen["cap_mg"], basis + f", capped at {number(vial)} mg"
        out.append(RegimenDose(regimen, round(mg, 2), basis))
    return out


@dataclass
class Finding:
    """What the check found, as data: finding codes (policy table), reasons, missing data, and notes (a wording
    key of orders.text.GEMTUZUMAB with its values; `first` notes lead the detail)."""

    findings: list
    notes: list
    reasons: list
    missing: list

    def note(self, key: str, first: bool = False, **values) -> None:
        self.notes.insert(0, (key, values)) if first else self.notes.append((key, values))


def _indication(case: Case, out: Finding) -> str:
    """"ok" | "not-indicated" | "cannot-check"."""
    entry = table()["indication"]
    verdict = "ok"
    if case.lineage is Lineage.UNKNOWN:
        out.missing.append("lineage")
        verdict = "cannot-check"
    elif case.lineage.value not in entry["lineages"]:
        out.reasons.append(f"not-aml:{case.lineage.value}")
        out.note("not-aml", lineage=case.lineage.value, label=entry["text"], tag=entry["tag"])
        return "not-indicated"
    cd33 = [m for m in case.markers if m.marker == entry["marker"] and (m.positive is not None or m.fraction is not None)]
    latest = max(cd33, key=lambda m: m.source.date.toordinal() if m.source.date else 0) if cd33 else None
    positive = latest.positive if latest is not None else None
    if latest is not None and positive is None:  # a percentage only
        positive = latest.fraction >= entry["cd33_positive_min_fraction"]["value"]
    if latest is None:
        out.missing.append("cd33")
        out.findings.append("cd33-missing")
        out.note("cd33-missing")
        verdict = "cannot-check" if verdict == "ok" else verdict
    elif positive is False:
        out.reasons.append("cd33-negative")
        out.note("cd33-negative", when=_on(latest.source.date),
                 share=f" ({latest.fraction:.0%} of blasts)" if latest.fraction is not None else "")
        return "not-indicated"
    else:
        out.reasons.append("cd33-positive")
    years, days = menin.age_years(case), case.age_days
    if years is None:  # the label's age limits and the adult or child regimen cannot be told apart
        out.missing.append("age")
        out.findings.append("age-missing")
        out.note("age-missing")
        verdict = "cannot-check" if verdict == "ok" else verdict
    if case.disease_status in RELAPSED and years is not None and years < entry["relapsed_minimum_age_years"]:
        out.reasons.append("age-under-2-years-relapsed")
        out.note("relapsed-too-young", years=entry["relapsed_minimum_age_years"])
        return "not-indicated"
    if days is not None and days < entry["newly_diagnosed_minimum_age_days"]:
        out.reasons.append("age-under-1-month")
        out.note("under-1-month", age=months(entry["newly_diagnosed_minimum_age_days"]))
        return "not-indicated"
    if case.disease_status is DiseaseStatus.UNKNOWN:
        out.missing.append("disease-status")
    return verdict


def _dose(case: Case, order: DraftMedicationOrder, out: Finding) -> tuple[str, dict | None, dict | None]:
    """(verdict, ordered dose for the contract, expected dose for the contract)."""
    ordered = doses.ordered_dose(case, order)
    if ordered is None or ordered.mg is None:
        out.findings.append("dose-cannot-check")
        lacking = list(ordered.missing_data) if ordered else []
        out.missing += [m for m in lacking if m not in out.missing]
        # say which: the order's dose, or the patient's BSA (mg/m2) or weight (mg/kg) it needs
        out.note("bsa-missing" if "height" in lacking else "weight-missing" if lacking else "dose-unreadable")
        return "cannot-check", ordered.as_contract() if ordered else None, None
    regimens = candidate_regimens(case)
    options = [d for r in regimens for d in (regimen_doses(case, r) or [])]
    if not options:
        missing = ["weight"] if case.weight is None else ["height"]
        out.missing += [m for m in missing if m not in out.missing]
        out.findings.append("dose-cannot-check")
        out.note("bsa-missing")
        return "cannot-check", ordered.as_contract(), None
    tolerance = table()["dose_tolerance_fraction"]["value"]
    shown = f"{number(ordered.mg)} mg" + (f" ({ordered.note})" if ordered.note else "")
    matched = [d for d in options if abs(ordered.mg - d.mg) <= tolerance * d.mg + 1e-9]
    highest = max(options, key=lambda d: d.mg)
    verdict = "ok"
    if matched:
        best = matched[0]
        out.note("matches", shown=shown, regimen=best.regimen["short"], basis=best.basis, tag=best.regimen["tag"])
    elif ordered.mg > highest.mg * (1 + tolerance):
        verdict = "dose-too-high"
        out.findings.append("dose-too-high")
        out.note("overdose", first=True, shown=shown, times=ordered.mg / highest.mg, label=number(highest.mg),
                 regimen=highest.regimen["short"], tag=highest.regimen["tag"])
        best = highest
    else:
        lowest = min(options, key=lambda d: d.mg)
        verdict = "dose-too-low" if ordered.mg < lowest.mg * (1 - tolerance) else "ok"
        out.findings.append("dose-too-low" if verdict == "dose-too-low" else "regimen-dose-mismatch")
        listed = "; ".join(dict.fromkeys(f"{number(d.mg)} mg ({d.regimen['short'].split(':')[0]})" for d in options))
        out.note("no-regimen", first=True, shown=shown, listed=listed)
        best = min(options, key=lambda d: abs(d.mg - ordered.mg))
    count = order.dose.count if order.dose else None
    if count is not None and count > best.regimen["doses_per_cycle"]:
        out.findings.append("regimen-doses-exceeded")
        out.note("too-many-doses", first=True, count=count, regimen=best.regimen["short"],
                 per_cycle=best.regimen["doses_per_cycle"], tag=best.regimen["tag"])
        verdict = "dose-too-high"
    out.reasons.append(f"regimen:{best.regimen['code']}")
    expected = {"value": best.mg, "unit": "mg", "basis": best.basis}
    return verdict, ordered.as_contract(), expected


def _safety(case: Case, out: Finding, unread: frozenset[str]) -> None:
    entry = table()
    boxed, hsct, wbc_rule = entry["boxed_warning"], entry["vod_hsct"], entry["hyperleukocytosis"]
    if case.transplants:
        t = max(case.transplants, key=lambda s: s.date.toordinal() if s.date else 0)
        out.findings.append("vod-risk-after-transplant")
        out.reasons.append("vod-risk-prior-hsct")
        out.note("transplant", when=_on(t.date), risk=hsct["short"], tag=hsct["tag"])
    elif "transplant-history" in unread:
        # the Procedures (where transplants are recorded) could not be read: "no transplant" is not known
        out.findings.append("transplant-history-unknown")
        out.missing.append("transplant-history")
        out.note("transplant-unknown", risk=hsct["short"], tag=hsct["tag"])
    else:
        out.findings.append("vod-boxed-warning")
    wbc = case.wbc_latest
    if wbc is None:
        out.findings.append("wbc-missing")
        out.missing.append("wbc")
        out.note("wbc-missing", first=True, rule=wbc_rule["text"], tag=wbc_rule["tag"])
    elif wbc.value >= wbc_rule["wbc_min_10e9_l"]:
        out.findings.append("hyperleukocytosis")
        out.reasons.append("hyperleukocytosis")
        out.note("hyperleukocytosis", first=True, wbc=number(wbc.value), when=_on(wbc.source.date), rule=wbc_rule["text"],
                 tag=wbc_rule["tag"])
    out.findings.append("premedication")
    out.note("knowledge", text=entry["premedication"]["short"], tag=entry["premedication"]["tag"])
    out.note("knowledge", text=boxed["short"], tag=boxed["tag"])


def _evidence(case: Case, out: Finding) -> list[str]:
    """The supporting evidence in KMT2A-rearranged AML (COG AAML0531), as a line."""
    keys = []
    for rule in knowledge.load("order_checks.json")["supporting_evidence"]:
        if rule["ingredient"] == table()["ingredient"] and case.kmt2a.status is Kmt2aStatus.REARRANGED \
                and case.lineage.value in rule["lineages"]:
            out.note("knowledge", text=rule["short"], tag=rule["tag"])
            out.reasons.append("kmt2a-rearranged-aml")
            keys.append(rule["source"])
    return keys


def check_gemtuzumab(case: Case, order: DraftMedicationOrder, unread: frozenset[str] = frozenset()) -> OrderCheck:
    """`unread`: missing-data codes the record may hold but could not be read (orders.per_call.unread_data)."""
    out = Finding([], [], [], [])  # findings, notes, reasons, missing
    indication = _indication(case, out)
    if indication == "not-indicated":
        out.findings.append("not-indicated")
    dose_verdict, ordered, expected = _dose(case, order, out)
    _safety(case, out, unread)
    evidence = _evidence(case, out)
    verdict = "not-indicated" if indication == "not-indicated" else dose_verdict if dose_verdict != "ok" else \
        ("cannot-check" if indication == "cannot-check" else "ok")
    ordered_mg = doses.ordered_dose(case, order)
    summary = gemtuzumab_summary(verdict, out.findings, out.reasons,
                                 ordered_mg.mg if ordered_mg is not None else None, expected["value"] if expected else None)
    group = ("indication" if verdict == "not-indicated" else "dose-high" if verdict == "dose-too-high" else
             "dose-low" if verdict == "dose-too-low" else "missing-data" if MISSING_FINDINGS & set(out.findings) else "safety")
    return OrderCheck(
        order=order.reference, medication=MEDICATION, verdict=verdict, kind="gemtuzumab-ozogamicin",
        summary=summary, lines=gemtuzumab_lines(out.notes), ordered_dose=ordered, expected_dose=expected,
        reasons=tuple(dict.fromkeys(out.reasons)), missing_data=tuple(dict.fromkeys(out.missing)),
        sources=tuple(dict.fromkeys([table()["source"], *evidence])), unsafe=verdict in ("not-indicated", "dose-too-high"),
        problem=verdict != "ok", override_group=group, findings=tuple(dict.fromkeys(out.findings)),
    )
