"""A chart with a whole disease course, for the case summary tests and the README screenshot.

An infant with KMT2A::AFF1 B-ALL diagnosed at 4 months with WBC 450 x10^9/L (Interfant-06 high risk), MRD positive
after induction, negative later; relapse at 8 months after diagnosis, revumenib, an allogeneic HSCT; QTc measured
before and on revumenib. Written as an EHR sends it (FHIR R4, LOINC/SNOMED/RxNorm codes, UCUM units).
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.fixtures.vignettes import fhir as F

REFERENCE_DATE = date(2026, 11, 1)
PATIENT = "demo-infant-aff1"
DIAGNOSIS = REFERENCE_DATE - timedelta(days=420)
BIRTH = DIAGNOSIS - timedelta(days=120)
RELAPSE_DAY, REVUMENIB_DAY, HSCT_DAY = 250, 262, 330

# (day after diagnosis, value) — the chart must show exactly these points.
WBC = [(0, 450), (8, 85), (15, 12), (33, 4.1), (90, 5.2), (RELAPSE_DAY, 38), (280, 3.0), (345, 1.2), (400, 4.8)]
MARROW_BLASTS = [(0, 92), (33, 3), (RELAPSE_DAY, 65), (300, 2)]
BLOOD_BLASTS = [(0, 88), (8, 20)]
MRD = [(33, 0.4, None), (90, 0.008, None), (300, 0.02, None), (380, 0.001, "<")]  # percent
QTC = [(258, 418), (276, 452), (300, 440)]


def day(plus: int) -> str:
    return F.day(DIAGNOSIS, plus)


def _blasts(rid: str, loinc: str, display: str, plus: int, percent: float, marrow: bool) -> dict:
    code = {"coding": [{"system": F.LOINC, "code": loinc, "display": display}], "text": display}
    obs = F._lab(rid, PATIENT, code, day(plus), **F.quantity(percent, "%"))
    if marrow:
        obs["specimen"] = {"display": "Bone marrow aspirate"}
    return obs


def _relapse_condition() -> dict:
    condition = F.condition(f"{PATIENT}-relapse", PATIENT, "B-ALL", DIAGNOSIS, "relapse")
    condition["recordedDate"] = day(RELAPSE_DAY)
    return condition


def _hsct() -> dict:
    return {"resourceType": "Procedure", "id": f"{PATIENT}-hsct", "status": "completed",
            "code": {"coding": [{"system": F.SNOMED, "code": "234336002", "display": "Hemopoietic stem cell transplant"}],
                     "text": "Allogeneic haematopoietic stem cell transplant (matched unrelated donor)"},
            "subject": {"reference": f"Patient/{PATIENT}"}, "performedDateTime": day(HSCT_DAY)}


def resources() -> list[dict]:
    out = [F.patient(PATIENT, BIRTH, "female"),
           F.condition(f"{PATIENT}-dx", PATIENT, "B-ALL", DIAGNOSIS, "active"),
           _relapse_condition(),
           F.kmt2a_fusion(f"{PATIENT}-fish", PATIENT, day(2), "AFF1", "46,XX,t(4;11)(q21.3;q23.3)[20]"),
           F.weight(f"{PATIENT}-wt", PATIENT, day(410), 10.4), F.height(f"{PATIENT}-ht", PATIENT, day(410), 78),
           F.med_request(f"{PATIENT}-revu", PATIENT, "2698337", "revumenib", day(REVUMENIB_DAY)),
           _hsct()]
    out += [F.wbc(f"{PATIENT}-wbc-{d}", PATIENT, day(d), v) for d, v in WBC]
    out += [_blasts(f"{PATIENT}-bm-{d}", "26445-7", "Blasts/100 cells in Bone marrow", d, v, True) for d, v in MARROW_BLASTS]
    out += [_blasts(f"{PATIENT}-pb-{d}", "26446-5", "Blasts/100 leukocytes in Blood", d, v, False) for d, v in BLOOD_BLASTS]
    out += [F.mrd(f"{PATIENT}-mrd-{d}", PATIENT, day(d), v, "MRD (flow)" if d != 33 else "MRD end of induction (flow)", c)
            for d, v, c in MRD]
    out += [F.qtc(f"{PATIENT}-qtc-{d}", PATIENT, day(d), v) for d, v in QTC]
    return out


EXPECTED_POINTS = len(WBC) + len(MARROW_BLASTS) + len(BLOOD_BLASTS) + len(MRD) + len(QTC)
