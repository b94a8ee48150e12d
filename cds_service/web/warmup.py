"""One synthetic call of every service, answered before gunicorn forks, so the first real call does not pay for
what Python does once: fhir.resources imports its nested element models on first use (Dosage, Timing, Ratio...),
jsonschema builds its validators, the mappers fill their lookup caches (measured: ~200 ms on the first call).

The synthetic patient is invented (no real data) and touches the element types the mappers validate.
"""

from __future__ import annotations

import logging
from datetime import date

from cds_service.hooks import pipeline
from cds_service.hooks.registry import Registry

log = logging.getLogger("kmt2a_cds.app")

LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
PATIENT = "warm-up"
DAY = "2026-01-15"


def _observation(n: int, code: str, **value) -> dict:
    return {"resourceType": "Observation", "id": f"warm-obs-{n}", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory"}]}],
            "code": {"coding": [{"system": LOINC, "code": code}]}, "subject": {"reference": f"Patient/{PATIENT}"},
            "effectiveDateTime": f"{DAY}T08:00:00Z", "issued": f"{DAY}T10:00:00Z",
            "interpretation": [{"coding": [{"code": "H"}]}], "note": [{"text": "warm-up"}], **value}


def _medication_request(rid: str, status: str, rxcui: str, text: str) -> dict:
    return {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order",
            "subject": {"reference": f"Patient/{PATIENT}"}, "authoredOn": DAY,
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rxcui}], "text": text},
            "dosageInstruction": [{"text": "twice daily", "route": {"coding": [{"code": "26643006"}]},
                                   "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d",
                                                         "boundsPeriod": {"start": DAY}},
                                              "code": {"coding": [{"code": "BID"}]}},
                                   "doseAndRate": [{"doseQuantity": {"value": 100, "unit": "mg", "system": UCUM,
                                                                     "code": "mg"}}]}],
            "dispenseRequest": {"expectedSupplyDuration": {"value": 30, "unit": "d", "system": UCUM, "code": "d"}}}


def _bundle(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def _prefetch() -> dict:
    quantity = lambda value, unit: {"valueQuantity": {"value": value, "unit": unit, "system": UCUM,  # noqa: E731
                                                      "code": unit}}
    variant = _observation(1, "69548-6", valueCodeableConcept={"coding": [{"system": LOINC, "code": "LA9633-4"}]},
                           component=[{"code": {"coding": [{"system": LOINC, "code": "48018-6"}]},
                                       "valueCodeableConcept": {"coding": [{"system": "http://www.genenames.org",
                                                                            "code": "HGNC:7132"}]}},
                                      {"code": {"coding": [{"system": LOINC, "code": "81252-9"}]},
                                       "valueCodeableConcept": {"text": "KMT2A::MLLT3"}}])
    labs = [_observation(2, "6690-2", **quantity(12.5, "10*3/uL"),
                         referenceRange=[{"low": {"value": 4, "unit": "10*3/uL"}, "high": {"value": 11}}]),
            _observation(3, "26446-5", **quantity(8, "%")), _observation(4, "67128-9", **quantity(0.05, "%")),
            _observation(5, "2823-3", **quantity(4.1, "mmol/L"))]
    vitals = [_observation(6, "29463-7", **quantity(60, "kg")), _observation(7, "8302-2", **quantity(170, "cm"))]
    karyotype = _observation(8, "33893-9", valueString="46,XY,t(9;11)(p21.3;q23.3)[20]")
    report = {"resourceType": "DiagnosticReport", "id": "warm-report", "status": "final",
              "code": {"coding": [{"system": LOINC, "code": "51969-4"}]},
              "subject": {"reference": f"Patient/{PATIENT}"},
              "issued": f"{DAY}T10:00:00Z", "conclusion": "KMT2A rearranged.",
              "conclusionCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "1157157006"}]}]}
    statement = {"resourceType": "MedicationStatement", "id": "warm-statement", "status": "active",
                 "subject": {"reference": f"Patient/{PATIENT}"}, "effectivePeriod": {"start": DAY},
                 "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "282446"}]},
                 "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 300, "unit": "mg"}}]}]}
    administration = {"resourceType": "MedicationAdministration", "id": "warm-administration",
                      "status": "completed", "subject": {"reference": f"Patient/{PATIENT}"},
                      "effectiveDateTime": f"{DAY}T09:00:00Z",
                      "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "4493"}]}}
    condition = {"resourceType": "Condition", "id": "warm-dx", "subject": {"reference": f"Patient/{PATIENT}"},
                 "clinicalStatus": {"coding": [{"code": "active"}]}, "onsetDateTime": DAY,
                 "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1157157006"}],
                          "text": "Acute myeloid leukemia with KMT2A rearrangement"}}
    return {"patient": {"resourceType": "Patient", "id": PATIENT, "gender": "female", "birthDate": "1980-01-01"},
            "conditions": _bundle(condition), "labs": _bundle(*labs), "vitals": _bundle(*vitals),
            "genomics": _bundle(variant, karyotype), "genomicReports": _bundle(report),
            "medicationRequests": _bundle(_medication_request("warm-active", "active", "282446", "posaconazole")),
            "medicationStatements": _bundle(statement), "medicationAdministrations": _bundle(administration),
            "ecg": _bundle(_observation(9, "76634-5", **quantity(430, "ms")))}


def answer_every_service(registry: Registry, settings: pipeline.Settings) -> dict[str, int]:
    """Answer one synthetic call per service (errors are logged, never raised: warming up is optional);
    the number of cards each service answered (absent: it failed)."""
    answered = {}
    prefetch = _prefetch()
    draft = _medication_request("warm-draft", "draft", "2698331", "revumenib")
    warm_settings = pipeline.Settings(production=False, fetch=settings.fetch, reference_date=date(2026, 2, 1))
    for service in registry.services.values():
        context = {"patientId": PATIENT, "userId": "Practitioner/warm-up"}
        if service.hook in ("order-select", "order-sign"):
            context["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}
            if service.hook == "order-select":
                context["selections"] = ["MedicationRequest/warm-draft"]
        body = {"hookInstance": "00000000-0000-4000-8000-00000000warm", "hook": service.hook, "context": context,
                "prefetch": {key: prefetch.get(key) for key in service.prefetch}}
        quiet = logging.getLogger("kmt2a_cds")
        level, quiet.level = quiet.level, logging.CRITICAL  # the synthetic call is not a call: no log lines
        try:
            answered[service.id] = len(pipeline.answer(service, body, warm_settings).cards)
        except Exception as error:  # noqa: BLE001 - a warm-up failure must not stop the service from starting
            quiet.setLevel(level)
            log.warning("warm-up call of %s failed (%s); its first real call will be slower", service.id,
                        type(error).__name__)
        finally:
            quiet.setLevel(level)
    return answered
