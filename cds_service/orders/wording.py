"""The words of the order cards: reason and missing-data codes in the clinic's words (codes stay in the
extension), and the wording tables of the on-treatment, gemtuzumab and ziftomenib checks (they return keys and
values; the sentences are written here)."""

from __future__ import annotations

from functools import partial

from cds_service import knowledge
from cds_service.stratification import menin_inhibitors as menin
from cds_service.stratification.text import day, months, number  # a number as cards write it: 4.5, 0.7, 270

def say(table: dict[str, str], key: str, **values) -> str:
    """The sentence `key` of a wording table below, with the values a check returned. A claim's verification
    tag is said in words, and only when it is not verified: "(unverified)" (cards show no tag codes)."""
    return table[key].format(unverified=unverified(values.get("tag")), **values)


def unverified(tag: str | None) -> str:
    """The claim's tag in words, as the patient-view cards say it: nothing for verified."""
    return "" if tag in (None, "V", "POLICY") else " (partly verified)" if tag == "P" else " (unverified)"


def sentences(table: dict[str, str], notes: list[tuple[str, dict]]) -> tuple[str, ...]:
    """A check's notes ((key, values) pairs) as the card's detail lines."""
    return tuple(say(table, key, **values) for key, values in notes)


PHRASES = {
    "kmt2a-rearranged": "KMT2A rearrangement (translocation) documented",
    "kmt2a-amplified-not-rearrangement": "KMT2A amplification is not a rearrangement: the label needs a KMT2A translocation",
    "kmt2a-ptd-not-rearrangement": "KMT2A partial tandem duplication is not a rearrangement (PTD was excluded from the label population)",
    "kmt2a-not-detected": "no KMT2A rearrangement was detected",
    "kmt2a-status-unknown": "no KMT2A result on record: the label needs a KMT2A translocation shown by a validated test",
    "kmt2a-results-conflict": "KMT2A results conflict",
    "t11-17-may-be-apl": "t(11;17)(q23;q21) may be ZBTB16::RARA (APL) rather than KMT2A: confirm by FISH or molecular test",
    "t11-19-partner-ambiguous": "t(11;19)(q23;p13) without sub-band: partner MLLT1 or ELL",
    "npm1-mutated-aml": "NPM1-mutated AML",
    "npm1-not-mutated": "NPM1 not mutated",
    "npm1-status-unknown": "no NPM1 result on record",
    "npm1-mutated-lineage-unknown": "NPM1 mutated but the leukemia lineage is not recorded",
    "relapsed": "relapsed disease",
    "refractory": "refractory disease",
    "continuation-of-current-therapy": "continues current revumenib therapy",
    "not-relapsed-refractory:newly-diagnosed": "newly diagnosed: first-line use is not in the label (relapsed/refractory only)",
    "not-relapsed-refractory:in-remission": "in remission: maintenance is not in the label (relapsed/refractory only)",
    "age-under-1-year": "under {min_age} year of age: off-label (label from {min_age} year)",
    "age-under-18-years": "under {adult_age} years: the label is for adults",
    "weight-40kg-or-more": "weight {kg} kg or more",
    "weight-under-40kg": "weight under {kg} kg (dose by BSA)",
    "frequency-not-q12h": "ordered schedule is not every 12 hours",
    "frequency-not-stated": "the order states no schedule",
    "order-not-readable": "the order could not be read as FHIR R4, so its dose was not checked",
    "weight-not-recent": "the weight behind the BSA-based dose is not recent",
    "dose-within-local-tolerance": "not the label dose, accepted by the local dose tolerance",
    "qtcf-above-limit": "QTcF above the start limit",
    "potassium-low": "potassium low",
    "magnesium-low": "magnesium low",
    "wbc-above-start-limit": "WBC above the start limit",
    "qtc-not-recent": "the last ECG is not recent enough to be the baseline",
    "potassium-not-recent": "the last potassium is not recent",
    "magnesium-not-recent": "the last magnesium is not recent",
    "wbc-not-recent": "the last WBC is not recent",
    # missing-data codes
    "weight": "weight",
    "height": "height (for the BSA)",
    "qtc": "baseline ECG with QTcF",
    "potassium": "potassium",
    "magnesium": "magnesium",
    "wbc": "white cell count",
    "disease-status": "disease status (relapsed or refractory?)",
    "kmt2a-status": "KMT2A result",
    "npm1": "NPM1 mutation result (the label's other indication: relapsed/refractory NPM1-mutated AML)",
    "lineage": "leukemia lineage",
    "medications": "medication list",
    "age": "age (birth date)",
    "transplant-history": "transplant history (procedures)",
}


def reason_text(code: str) -> str:
    """A phrase for a reason or missing-data code; "class:ingredient" codes read as "class: ingredient"."""
    if code in PHRASES:
        # the limits come from the label table, never restated here
        revumenib = menin.table()
        return PHRASES[code].format(min_age=number(revumenib["minimum_age_years"]["value"]),
                                    kg=number(revumenib["dosing"]["weight_threshold_kg"]),
                                    adult_age=number(menin.table("ziftomenib")["indications"][0]["minimum_age_years"]))
    kind, _, what = code.partition(":")
    if what:
        return f"{kind.replace('-', ' ').replace('cyp3a4', 'CYP3A4')}: {what}"
    return code.replace("-", " ")


def short_reason(code: str) -> str:
    """The phrase up to its first explanation, for summaries: "KMT2A amplification is not a rearrangement"."""
    return re_split(reason_text(code))


def re_split(text: str) -> str:
    for mark in (": ", " ("):
        text = text.split(mark)[0]
    return text


def shorten(text: str, limit: int = 139) -> str:
    """A card summary under the spec's 140 characters, cut at a word with an ellipsis when needed."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "\u2026"


# --- on-treatment monitoring (patient-view card and continuation orders) ---------------------------

VERIFY = "Unverified label threshold: verify against the current label."


def _on(measurement) -> str:
    return f" on {day(measurement.source.date)}" if measurement.source.date else " (undated)"


def monitoring_summary(m) -> str | None:
    """The one line a prescriber reads first; None when nothing is due."""
    if m.dose is not None and m.qtc_action is None:  # a QTc hold outranks a dose change
        d = m.dose
        return shorten(f"On revumenib {shown_dose(d.ordered)}: above the label dose, "
                       f"{number(d.expected.value)} mg {frequency_words(d.expected.frequency)}")
    if m.qtc_action is not None:
        q = m.qtc_action.reading
        return shorten(f"Hold revumenib: QTcF {number(q.value)} ms{_on(q)} is above the interrupt limit")
    if "qtc-above-limit-not-fridericia" in m.findings:
        return shorten(f"On revumenib: {m.latest_qtc.method} {number(m.latest_qtc.value)} ms{_on(m.latest_qtc)}: obtain a QTcF ECG today")
    due = []
    if "ecg-overdue" in m.findings:
        due.append("ECG overdue")
    if "electrolytes-low" in m.findings:
        due.append("correct " + " and ".join(e.name for e in m.electrolytes if e.state == "low"))
    if "electrolytes-missing" in m.findings:
        due.append("check " + " and ".join(e.name for e in m.electrolytes if e.state in ("missing", "old")))
    return shorten("On revumenib: " + "; ".join(due)) if due else None


def monitoring_lines(m) -> list[str]:
    """The detail, action first; results quoted by value and date."""
    lines = []
    if m.dose is not None:
        d = m.dose
        lines.append(f"Active order: {shown_dose(d.ordered)}. Label dose today: {number(d.expected.value)} mg "
                     f"{frequency_words(d.expected.frequency)} ({d.expected.why}): reduce the order. {menin.VERIFY_TEXT}")
    if m.qtc_action is not None:
        a = m.qtc_action
        rise = (f" (baseline QTcF {number(a.baseline.value)} ms{_on(a.baseline)}, rise {number(a.rise_ms)} ms)"
                if a.baseline is not None and a.rise_ms is not None else "")
        lines.append(f"QTcF {number(a.reading.value)} ms{_on(a.reading)}{rise}. Label: {a.rule['text']}. {VERIFY}")
    elif "qtc-above-limit-not-fridericia" in m.findings:
        q = m.latest_qtc
        lines.append(f"{q.method or 'QTc'} {number(q.value)} ms{_on(q)} is not Fridericia-corrected; the label limits "
                     f"are QTcF. Obtain a QTcF ECG before the next dose.")
    context = None
    if m.qtc_action is None and m.latest_qtc is not None and m.latest_qtc.method == "QTcF":
        # the QT context of what is due (low potassium beside a QTcF of 472 ms is not the same as beside 420)
        q, limit = m.latest_qtc, menin.table()["on_treatment"]["interrupt_limit_ms"]["value"]
        context = f"Latest QTcF {number(q.value)} ms{_on(q)}: not above the interrupt limit ({number(limit)} ms)."
    if "ecg-overdue" in m.findings:
        last = m.ecg.last
        when = f"last ECG{_on(last)}" if last is not None else "no ECG on record"
        schedule = menin.table()["on_treatment"]["ecg_schedule"]  # the schedule is said as the knowledge words it
        weeks = number(schedule["weekly_for_days"] / 7)
        phase = {"weekly": f"weekly in the first {weeks} weeks", "monthly": f"monthly after the first {weeks} weeks",
                 "start-unknown": "weekly while the treatment start is not recorded (record it)"}[m.ecg.phase]
        lines.append(f"ECG overdue: {when}; due {phase}. Label: {schedule['text']}. {VERIFY}")
    for e in m.electrolytes:
        if e.state == "low":
            lines.append(f"{e.name.capitalize()} {number(e.reading.value)} mmol/L{_on(e.reading)} is below "
                         f"{number(e.limit)} mmol/L: correct it (boxed warning).")
        elif e.state in ("missing", "old"):
            seen = f"last {number(e.reading.value)} mmol/L{_on(e.reading)}" if e.reading is not None else "none on record"
            lines.append(f"{e.name.capitalize()}: {seen}; check it with the ECG (boxed warning).")
    return lines + ([context] if context else [])


# --- gemtuzumab ozogamicin (orders.gemtuzumab_check returns the keys and values) -----------------------


GEMTUZUMAB = {
    "not-aml": "Not indicated: the leukemia is {lineage}; the label is for {label}{unverified}.",
    "cd33-missing": "No CD33 flow result on record: the label requires CD33-positive AML; record the result.",
    "cd33-negative": "Not indicated: CD33 negative{share}{when}; the label requires CD33-positive AML.",
    "relapsed-too-young": "Not indicated: relapsed or refractory disease under {years} years.",
    "under-1-month": "Not indicated under {age} of age.",
    "dose-unreadable": "The dose is not checked: the order states no dose in mg, mg/m2 or mg/kg.",
    "bsa-missing": "The dose is not checked: BSA (height and weight) is missing.",
    "weight-missing": "The dose is not checked: the weight is missing.",
    "matches": "{shown} per dose: {regimen}; {basis}{unverified}.",
    "overdose": "Overdose: {shown} per dose is {times:.1f} times the highest label dose for this patient, {label} mg ({regimen}){unverified}.",
    "no-regimen": "{shown} per dose matches no label regimen for this setting: {listed}.",
    "too-many-doses": "{count} doses ordered; the {regimen} gives {per_cycle} a cycle{unverified}.",
    "transplant": "Transplant on record{when}: {risk} Watch bilirubin, weight, liver size{unverified}.",
    "transplant-unknown": "Transplant history unknown (procedures could not be read): ask; after a stem cell transplant, {risk}{unverified}",
    "wbc-missing": "No WBC on record: check it before the first dose. {rule}{unverified}",
    "age-missing": "Age not on record: the label's age limits and the adult or child regimen are not checked.",
    "hyperleukocytosis": "WBC {wbc} x10^9/L{when}: {rule}{unverified}",
    "knowledge": "{text}{unverified}",
}
GEMTUZUMAB_SUMMARIES = (  # the first that applies names the card
    ("verdict:not-indicated", "Gemtuzumab ozogamicin not indicated: {why}"),
    ("verdict:dose-too-high", "Gemtuzumab ozogamicin overdose: {ordered} mg per dose, label {expected} mg"),
    ("verdict:dose-too-low", "Gemtuzumab ozogamicin {ordered} mg per dose is below the label dose ({expected} mg)"),
    ("hyperleukocytosis", "Gemtuzumab ozogamicin: cytoreduce first, WBC {wbc_limit} x10^9/L or more"),
    ("vod-risk-after-transplant", "Gemtuzumab ozogamicin after a stem cell transplant: higher VOD risk"),
    ("transplant-history-unknown", "Gemtuzumab ozogamicin: transplant history could not be read; VOD risk is higher after HSCT"),
    ("wbc-missing", "Gemtuzumab ozogamicin: no WBC on record; cytoreduce first if {wbc_limit} x10^9/L or more"),
    ("cd33-missing", "Gemtuzumab ozogamicin: no CD33 result on record"),
    ("regimen-doses-exceeded", "Gemtuzumab ozogamicin: more doses than the label regimen"),
    ("regimen-dose-mismatch", "Gemtuzumab ozogamicin: dose does not match a label regimen"),
    ("age-missing", "Gemtuzumab ozogamicin: age not on record; age limits and regimen not checked"),
    ("verdict:cannot-check", "Gemtuzumab ozogamicin: dose or indication cannot be checked"),
    ("verdict:ok", "Gemtuzumab ozogamicin {ordered} mg matches the label regimen"),
)
_WHY = {"not-aml": "not AML", "cd33-negative": "CD33 negative", "age-under-2-years-relapsed": "relapsed under {years} years",
        "age-under-1-month": "under {age} of age"}


gemtuzumab_lines = partial(sentences, GEMTUZUMAB)


def gemtuzumab_summary(verdict: str, findings: list[str], reasons: list[str], ordered_mg: float | None,
                       expected_mg: float | None) -> str:
    present = {f"verdict:{verdict}", *findings}
    label = knowledge.load("gemtuzumab_ozogamicin.json")  # the limits come from the label table
    why = next((_WHY[r.split(":")[0]] for r in reasons if r.split(":")[0] in _WHY), "see the detail")
    values = {"ordered": number(ordered_mg) if ordered_mg is not None else "?",
              "expected": number(expected_mg) if expected_mg is not None else "?",
              "why": why.format(years=number(label["indication"]["relapsed_minimum_age_years"]),
                                age=months(label["indication"]["newly_diagnosed_minimum_age_days"])),
              "wbc_limit": number(label["hyperleukocytosis"]["wbc_min_10e9_l"])}
    template = next(text for key, text in GEMTUZUMAB_SUMMARIES if key in present)
    return template.format(**values)


# --- ziftomenib (orders.checks.check_ziftomenib returns the keys and values) --------------------------

ZIFTOMENIB = {
    "knowledge": "{text}{unverified}",
    "indication": "Indication: {text}{unverified}.",
    "reason": "- {text}",
    "dose-wrong": "Ziftomenib {shown} is {where} {plan}: correct the order{unverified}. {verify}",
    "dose-matches": "Dose {shown} matches {plan}{unverified}. {verify}",
    "dose-unreadable": "Dose not checked: the order states no dose in mg. Expected {plan}{unverified}. {verify}",
    "not-whole-capsules": "{mg} mg cannot be made from whole {capsule} mg capsules.",
    "no-schedule": "The order states no schedule; read as once daily.",
}
ZIFTOMENIB_SUMMARIES = {
    "kmt2a-rearranged": "Ziftomenib is not indicated in KMT2A-rearranged leukemia (NPM1-mutated AML only)",
    "not-indicated": "Ziftomenib not indicated: {why}",
    "indication-cannot-check": "Ziftomenib: indication cannot be checked, data missing",
    "indication-fits": "Ziftomenib: the NPM1-mutated AML indication fits",
    "dose-too-high": "Ziftomenib {shown} is above {plan}",
    "dose-too-low": "Ziftomenib {shown} is below {plan}",
    "dose-cannot-check": "Ziftomenib: indication fits; the dose cannot be checked",
    "dose-not-dispensable": "Ziftomenib: the dose cannot be made from whole capsules",
}


ziftomenib_lines = partial(sentences, ZIFTOMENIB)


def ziftomenib_summary(lead: str, values: dict) -> str:
    return ZIFTOMENIB_SUMMARIES[lead].format(**values)


# --- revumenib (orders.revumenib_check asks for its sentences by key) ---------------------------------

REVUMENIB = {
    # detail lines
    "indication-cannot-check": "Indication cannot be checked: {lacking} missing.",
    "indication-not": "Revumenib is {label} here. Label indication: {texts}.",
    "reason": "- {text}",
    "expected-mg": "Expected dose: {value} mg {when} ({how}). {verify}{given}",
    "expected-given": " Given as {mg} mg = {made} (nearest whole-tablet amount, local policy).",
    "expected-m2": "Expected dose: {per_m2} mg/m2 {when} ({why}). {verify}",
    "unreadable": "The order is {why}, so its dose was not read; check it by hand or re-enter it.",
    "no-dose": "The order states no dose; it cannot be checked.",
    "ordered": "Ordered: {shown}{note}.",
    "not-dispensable": "{mg} mg cannot be made from whole {strengths} mg tablets. Nearest: {made}.",
    "tolerated": ("Ordered {got} {unit} is {gap} {unit} ({share:.0%}) {where} the table's {want} {unit}: not the label "
                  "dose, accepted only by the local tolerance ({tolerance}). {trial}."),
    "old-weight": "The dose rests on {named}: {rule}",
    "interaction": "With {names}: {rule}",
    "inhibitor-accounted": "The revumenib dose is already the reduced one for {names}{unverified}.",
    "qt-calm": ("With {names}: also prolongs the QTc; the latest QTcF is normal: ECG, potassium and magnesium as "
                "scheduled{unverified}."),
    "too-old": "{label}{when} is {age}: {rule}.",
    "electrolyte-missing": "No {name} in a readable unit on record: {rule}.",
    "electrolyte-low": "{label} {value} mmol/L{when} is below {limit} mmol/L ({limit_rule}): {rule}.",
    "no-wbc": "No WBC on record: {rule}.",
    "wbc-high": "WBC {value} x10^9/L{when}: {rule}.",
    "no-ecg": "No ECG on record: obtain a baseline ECG with QTcF before the first dose ({rule}).",
    "not-fridericia": "QTc {value} ms{when} is not Fridericia-corrected ({method}): obtain QTcF; {rule}.",
    "qtcf-above-start": ("QTcF {value} ms{when}: {rule}. Correct potassium and magnesium, review QT-prolonging drugs, "
                         "repeat the ECG."),
    "qtcf-ok": "QTcF {value} ms{when} is within the start limit ({limit} ms).",
    "medications-unknown": ("The medication list could not be read for this call: the expected dose assumes no strong "
                            "CYP3A4 inhibitor, and inducers or QT-prolonging drugs could not be checked."),
    "knowledge": "{text}{unverified}",
    # summaries
    "s-indication-cannot-check": "Revumenib indication cannot be checked: {lacking} missing",
    "s-not-indicated": "Revumenib {label}: {why}",
    "s-unreadable": "Revumenib order could not be read: dose not checked",
    "s-no-dose": "Revumenib order states no dose: cannot check it",
    "s-dose-cannot-check": "Revumenib dose cannot be checked: {lacking} missing",
    "s-dose-wrong": "Revumenib {shown} is {where} the expected {target}",
    "s-not-dispensable": "Revumenib {mg} mg cannot be made from whole tablets",
    "s-old-weight": "Revumenib dose by BSA from an old weight: re-weigh before dosing",
    "s-interaction": "Revumenib with {names}: {short}",
    "s-electrolyte-low": "Correct {name} before starting revumenib ({value} mmol/L)",
    "s-wbc-high": "Reduce WBC below {limit} x10^9/L before starting revumenib",
    "s-prestart-missing": "Before starting revumenib: {lacking} missing",
    "s-do-not-start": "Do not start revumenib: QTcF {value} ms > {limit} ms",
    "s-medications-unknown": "Revumenib: medication list not available, CYP3A4 inhibitors unknown",
    "s-checked": "Revumenib: indication and dose checked",
    "s-tolerated": "Revumenib {shown} is within the local tolerance of the expected {target}",
    "s-matches": "Revumenib {shown} matches the expected {target}",
    "s-and-dose": "{lead}; dose {what}",
    # the update suggestion
    "correction-label": "Change revumenib to {text}",
    "correction-text": "Update this revumenib order to {text}, the label table's dose. {verify}",
    "correction-also": " Also: {changes}.",
}


revumenib_says = partial(say, REVUMENIB)


FREQUENCY_WORDS = {"q12h": "every 12 hours", "daily": "once daily", "q8h": "every 8 hours", "q24h": "once daily"}


def frequency_words(frequency: str | None) -> str:
    """"every 12 hours" for "q12h"; an unknown code is shown as it is rather than hidden."""
    return FREQUENCY_WORDS.get(frequency or "", frequency or "")


def tablets_made(made: str | None, count: float, form: str = "tablet") -> str | None:
    """"1 x 160 mg + 1 x 110 mg" -> "1 x 160 mg + 1 x 110 mg tablets" (singular for one tablet)."""
    if made is None:
        return None
    return f"{made} {form}{'s' if count != 1 else ''}"


def shown_dose(ordered) -> str:
    """The ordered dose in clinical words, tablets with their composition: "1 x 160 mg tablet = 160 mg every
    12 hours"; never a UCUM annotation such as {pill}."""
    when = frequency_words(ordered.frequency)
    form = ordered.unit_form or "tablet"
    if ordered.units is not None and ordered.strength_mg is not None:
        made = tablets_made(f"{number(ordered.units)} x {number(ordered.strength_mg)} mg", ordered.units, form)
        return f"{made} = {number(ordered.mg)} mg {when}".strip()
    if ordered.units is not None:
        return f"{number(ordered.units)} {form}{'s' if ordered.units != 1 else ''} (strength not stated) {when}".strip()
    return f"{number(ordered.value)} {ordered.unit} {when}".strip()


def dose_instruction(value: float, unit: str, given_mg: float | None, made: str | None, route: str | None,
                     frequency: str | None) -> str:
    """The corrected order's dosage text, agreeing with its dose, schedule and product:
    "270 mg = 1 x 160 mg + 1 x 110 mg tablets, by mouth, every 12 hours"."""
    how = "by mouth" if not route or route.lower() in ("oral", "po", "by mouth", "oral use") else route
    when = frequency_words(frequency)
    if unit == "mg":
        return f"{number(value)} mg{f' = {made}' if made else ''}, {how}, {when}"
    given = f" (given as {number(given_mg)} mg{f' = {made}' if made else ''})" if given_mg is not None else ""
    return f"{number(value)} {unit}{given}, {how}, {when}"


# --- another order given with revumenib (orders.checks.check_interacting_order) ------------------------

INTERACTION = {
    "knowledge": "{text}{unverified}",
    "already-reduced": ("With {name}, the revumenib dose is {dose} ({basis}). The patient already takes {already}, also a "
                        "strong CYP3A4 inhibitor: the current revumenib dose should already be this one; check it. {verify}"),
    "reduce": "With {name}, the revumenib dose is {dose} ({basis}): reduce the revumenib order while both are given. {verify}",
    "reduce-unknown": "Reduce the revumenib dose while both are given; the reduced dose cannot be computed: {lacking}.",
    "qt-calm": ("{drug} also prolongs the QTc; the latest QTcF is normal and recent: ECG, potassium and magnesium as "
                "scheduled{unverified}."),
    "s-already-reduced": "{drug} with revumenib: check revumenib is {dose} (already on {already})",
    "s-reduce": "{drug} with revumenib: reduce revumenib to {dose}",
    "s-reduce-unknown": "{drug} with revumenib: revumenib dose must be reduced",
    "s-with": "{drug} with revumenib: {short}",
    # the medication list could not be read, and the patient's leukemia is one revumenib treats
    "list-unread": ("The medication list could not be read, so whether the patient takes revumenib is not known: "
                    "check before signing. If so: {rules}"),
    "s-list-unread": "{drug}: check for revumenib first (medication list could not be read)",
}


interaction_says = partial(say, INTERACTION)
