"""What the case summary page says: the same facts as the assessment the hooks compute, for the demo chart and every
clinical vignette, launched through the EHR double; and the link the patient-view card carries to it."""

from __future__ import annotations

import uuid
from html.parser import HTMLParser

import pytest
import requests

from cds_service.stratification import assess
from fhir_mappings import case_from_resources
from tests.clinical.vignettes import NAMES, load
from tests.smart import demo_patient
from tests.smart.conftest import launch
from tests.smart.ehr import EhrDouble


class _Facts(HTMLParser):
    """The page's machine-readable marks: data-* attributes of the sections, and the chart's points."""

    def __init__(self):
        super().__init__()
        self.risk: list[tuple[str, str]] = []
        self.codes: dict[str, list[str]] = {"considerations": [], "cautions": [], "missing": []}
        self.facts: dict[str, dict] = {}
        self.points = 0
        self.table_points = 0
        self._section = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self._section = a.get("id")
        if "data-scheme" in a:
            self.risk.append((a["data-scheme"], a["data-group"]))
        if tag == "article" and "data-code" in a and self._section in self.codes:
            self.codes[self._section].append(a["data-code"])
        if "data-fact" in a:
            self.facts[a["data-fact"]] = a
        if "point" in (a.get("class") or "").split():
            self.points += 1
        if "point-row" in (a.get("class") or "").split():
            self.table_points += 1


def _facts(html: str) -> _Facts:
    parser = _Facts()
    parser.feed(html)
    return parser


def _page_and_assessment(resources: list[dict], patient: str, app_for):
    with EhrDouble(resources, patient=patient) as ehr:
        page = launch(app_for(ehr), ehr)[-1]
    case = case_from_resources(resources, reference_date=demo_patient.REFERENCE_DATE, patient_id=patient)
    return page, assess(case)


def _assert_same_facts(page, assessment) -> _Facts:
    assert page.status_code == 200, page.text[:500]
    facts = _facts(page.text)
    assert facts.risk == [(g.scheme, g.group) for g in assessment.risk_groups]
    assert facts.codes["considerations"] == [c.code for c in assessment.considerations]
    assert facts.codes["cautions"] == [c.code for c in assessment.cautions]
    assert facts.codes["missing"] == [m.code for m in assessment.missing]
    assert facts.facts["kmt2a"]["data-status"] == assessment.kmt2a.status
    assert assessment.disease.lineage in page.text
    if assessment.kmt2a.partner:
        assert f"partner {assessment.kmt2a.partner}" in page.text
    return facts


def test_the_demo_page_states_the_assessment_and_draws_every_result(app_for):
    page, assessment = _page_and_assessment(demo_patient.resources(), demo_patient.PATIENT, app_for)
    facts = _assert_same_facts(page, assessment)
    assert facts.points == demo_patient.EXPECTED_POINTS == facts.table_points
    for label in ("Diagnosis", "Relapse", "Revumenib start", "HSCT"):
        assert f">{label}</text>" in page.text  # marked on the chart ...
        assert f"<td>Event</td><td>{label}</td>" in page.text  # ... and in its table
    assert "10^-4 (0.01 %)" in page.text
    assert "WBC at diagnosis 450 x10^9/L on 7 Sep 2025" in page.text  # the decision basis, quoted with its date
    assert "Observation/" not in page.text  # results by content and date, never by FHIR id
    assert "Evidence: FDA label" in page.text and "Evidence: label" not in page.text  # levels in words


@pytest.mark.parametrize("name", NAMES)
def test_every_vignette_page_states_its_assessment(name, app_for):
    resources = [e["resource"] for e in load(name)["entry"]]
    patient = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    page, assessment = _page_and_assessment(resources, patient, app_for)
    _assert_same_facts(page, assessment)
    assert ('data-fact="no-leukemia"' in page.text) == (not assessment.disease.has_leukemia)


def test_the_assessment_card_links_to_the_app_as_a_smart_link(ehr, app_for):
    app = app_for(ehr)
    ehr.tokens.append("hook-token")  # the EHR's token for this hook call
    body = {"hookInstance": str(uuid.uuid4()), "hook": "patient-view", "fhirServer": ehr.base,
            "fhirAuthorization": {"access_token": "hook-token", "token_type": "Bearer", "expires_in": 300,
                                  "scope": "patient/*.read", "subject": "cds-service", "patient": demo_patient.PATIENT},
            "context": {"patientId": demo_patient.PATIENT, "userId": "Practitioner/example"}}
    cards = requests.post(f"{app}/cds-services/kmt2a-patient-view", json=body, timeout=30).json()["cards"]
    smart_links = [link for card in cards for link in card.get("links", []) if link["type"] == "smart"]
    assert smart_links == [{"label": smart_links[0]["label"], "url": f"{app}/app/launch", "type": "smart",
                            "appContext": "case-summary"}]
    assert "org.kmt2a-cds.assessment" in cards[0].get("extension", {})  # on the assessment card


def test_each_claim_shows_its_own_evidence_level_in_words():
    """Issue 10: the page shows a consideration's evidence level (from the knowledge, as the assessment carries it)
    beside its own tag, in words: "FDA label", never the knowledge's key ("label", "prospective-trial")."""
    from cds_service.smart import summary
    from cds_service.stratification import kb

    case = case_from_resources(demo_patient.resources(), reference_date=demo_patient.REFERENCE_DATE,
                               patient_id=demo_patient.PATIENT)
    assessment = assess(case)
    claims = summary.summarise(case, assessment, demo_patient.resources()).considerations
    words = kb.section("evidence_levels")
    assert claims and [c.evidence_level for c in claims] == [words[c.evidence] for c in assessment.considerations]
    assert "FDA label" in {c.evidence_level for c in claims}  # the demo's revumenib claims cite the label
    assert [c.tag for c in claims] == [c.tag for c in assessment.considerations]  # each claim's own tag


def test_what_a_missing_item_blocks_is_said_in_words_as_on_the_cards():
    """The page once kept its own copy of the block labels and showed 'Needed for: apl-exclusion.'"""
    import dataclasses

    from cds_service.smart import summary
    from cds_service.stratification.assessment import MissingItem

    case = case_from_resources(demo_patient.resources(), reference_date=demo_patient.REFERENCE_DATE,
                               patient_id=demo_patient.PATIENT)
    coagulation = MissingItem("coagulation-work-up", "Coagulation work-up", blocks=("apl-exclusion", "kmt2a-schemes"))
    assessment = dataclasses.replace(assess(case), missing=(coagulation,))
    [claim] = summary.summarise(case, assessment, demo_patient.resources()).missing
    needed = next(line for line in claim.extra if line.startswith("Needed for:"))
    assert "apl-exclusion" not in needed and "excluding acute promyelocytic leukemia" in needed
    assert "kmt2a-schemes" not in needed
