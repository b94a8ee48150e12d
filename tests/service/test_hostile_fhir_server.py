"""A FHIR server that attacks us (by accident or not) costs a call its data, never our memory, threads or time.

Each mode of `HostileFhirServer` is fetched through the real prefetch; the key is named unavailable with
the reason, the decompressed size never passes the cap, and no fetch thread outlives the call for long.
"""

from __future__ import annotations

import copy
import threading
import time
import tracemalloc

import pytest
import requests

from cds_service.hooks import prefetch, protocol
from tests.support import sandbox
from tests.support.hostile_fhir_server import HostileFhirServer

TEMPLATES = {"observations": "Observation?patient={{context.patientId}}"}
CAP = 1 << 20
SETTINGS = prefetch.FetchSettings(deadline_s=1.0, connect_timeout_s=0.5, read_timeout_s=0.5, max_answer_bytes=CAP)


def request_for(base: str) -> dict:
    return {"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {"patientId": "pat-1", "userId": "Practitioner/1"},
            "fhirServer": base, "fhirAuthorization": {"access_token": "fhir-token"}}


@pytest.fixture(scope="module")
def hostile():
    with HostileFhirServer() as server:
        yield server


@pytest.mark.parametrize("mode, reason", [
    ("gzip-bomb", f"larger than {CAP} bytes"),
    ("huge", f"larger than {CAP} bytes"),
    ("drip", "within 1 s"),
    ("hang", "within 1 s"),
    ("redirect", "answered 302"),
    ("deep", "nested deeper than"),
    ("lying-gzip", "not valid for its Content-Encoding"),
])
def test_a_hostile_answer_leaves_the_key_unavailable_with_its_reason(hostile, mode, reason):
    result = prefetch.resolve(TEMPLATES, request_for(hostile.base(mode)), SETTINGS)
    assert "observations" not in result.data
    assert reason in result.unavailable["observations"]


def test_a_gzipped_answer_is_read(hostile):
    result = prefetch.resolve(TEMPLATES, request_for(hostile.base("good-gzip")), SETTINGS)
    assert result.unavailable == {} and result.data["observations"]["resourceType"] == "Bundle"


def test_endless_paging_stops_at_the_page_cap_and_says_the_list_is_partial(hostile):
    before = hostile.hits["endless-paging"]
    result = prefetch.resolve(TEMPLATES, request_for(hostile.base("endless-paging")), SETTINGS)
    assert hostile.hits["endless-paging"] - before == SETTINGS.page_cap
    assert result.data["observations"]["resourceType"] == "Bundle"
    assert "only part" in result.unavailable["observations"]


def test_a_gzip_bomb_costs_at_most_the_cap_in_memory(hostile):
    """Measured with tracemalloc over these calls only (every thread): the process's peak RSS is a high-water mark
    that an earlier test may already have raised past anything the bomb adds, and it missed a decoder inflating
    each 16 KiB piece whole (16 MiB at a time)."""
    tracemalloc.start()
    try:
        for _ in range(3):
            result = prefetch.resolve(TEMPLATES, request_for(hostile.base("gzip-bomb")), SETTINGS)
            assert f"larger than {CAP} bytes" in result.unavailable["observations"]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * CAP, f"{peak} bytes at the peak for a {CAP}-byte cap"  # the bomb inflates to 1 GiB


def _fetch_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name.startswith("prefetch"))


def test_no_fetch_thread_outlives_slow_answers_for_long(hostile):
    for mode in ["drip", "hang", "huge"] * 5:
        prefetch.resolve(TEMPLATES, request_for(hostile.base(mode)), SETTINGS)
    # Each worker gives up within one read timeout after the deadline; wait for that, not for the servers.
    settle_until = time.monotonic() + 10
    while _fetch_threads() and time.monotonic() < settle_until:
        time.sleep(0.1)
    assert _fetch_threads() == 0


def test_the_service_answers_with_cards_while_the_fhir_server_attacks(live_service, hostile):
    base = live_service(prefetch_deadline_s=1.0)
    body = copy.deepcopy(sandbox.raw("patient-view")["body"])
    body["prefetch"] = {"patient": {"resourceType": "Patient", "id": body["context"]["patientId"],
                                    "birthDate": "2020-01-01"}}
    body["fhirServer"] = hostile.base("gzip-bomb")
    body["fhirAuthorization"] = {"access_token": "fhir-token", "token_type": "Bearer"}  # no expires_in: accepted
    response = requests.post(base + "/cds-services/kmt2a-patient-view", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert protocol.validate_response(response.json()) == []
