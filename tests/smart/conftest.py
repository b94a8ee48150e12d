"""Fixtures of the case summary tests: the EHR double (authorization + FHIR server) with the demo chart, and the
real service with the app allowing that EHR's FHIR server."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
import requests

from cds_service.smart.config import SmartConfig, normalise_server
from tests.smart import demo_patient
from tests.smart.ehr import EhrDouble


@pytest.fixture
def ehr():
    with EhrDouble(demo_patient.resources(), patient=demo_patient.PATIENT) as double:
        yield double


@pytest.fixture
def app_for(live_service):
    """`app_for(ehr, **smart_overrides)`: the service, its app trusting `ehr`'s FHIR server."""

    def start(ehr: EhrDouble, profile: str = "development", **smart) -> str:
        config = SmartConfig(**({"fhir_servers": (normalise_server(ehr.base),)} | smart))
        return live_service(reference_date=demo_patient.REFERENCE_DATE, smart=config, profile=profile)

    return start


def launch(app: str, ehr: EhrDouble, browser: requests.Session | None = None) -> list[requests.Response]:
    """Walk the EHR launch as a browser would, one redirect at a time: launch -> authorize -> callback -> page.
    Returns every response (the last is the page, or the first that did not redirect)."""
    browser = browser or requests.Session()
    responses = [browser.get(ehr.launch_url(app), allow_redirects=False, timeout=30)]
    while responses[-1].status_code in (302, 303) and len(responses) < 6:
        responses.append(browser.get(urljoin(responses[-1].url, responses[-1].headers["Location"]),
                                     allow_redirects=False, timeout=30))
    return responses
