"""One CDS Hooks call, start to finish, without HTTP: `answer(service, body, settings) -> Answer`.

request body -> envelope and context checks -> prefetch (what the EHR sent, plus what we fetch) -> HookCall
-> the service's handler (Case -> assessment / order checks -> cards) -> only valid cards leave.

The Flask view (`cds_service.web.app`) translates HTTP around it (auth, body, status codes, store, audit); the
CLI and the tests call the same function, as HAPI FHIR's controller calls its registry's `callService`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from cds_service.hooks import prefetch, protocol
from cds_service.hooks.call import HookCall
from cds_service.hooks.protocol import ProtocolError
from cds_service.hooks.registry import Service

log = logging.getLogger("kmt2a_cds.pipeline")


@dataclass(frozen=True)
class Settings:
    """What a call needs besides its body: the profile, how to fetch, and the day it is judged on."""

    production: bool = False
    fetch: prefetch.FetchSettings = prefetch.FetchSettings()
    reference_date: date | None = None  # None: today (UTC)


@dataclass(frozen=True)
class Answer:
    cards: list[dict]
    call: HookCall


def answer(service: Service, body: Any, settings: Settings = Settings()) -> Answer:
    """The cards `service` answers to `body`. Raises ProtocolError (4xx) for a request we cannot serve."""
    protocol.check_request(body, service.hook, settings.production)
    prefetched = prefetch.resolve(service.prefetch, body, settings.fetch)
    if missing := [key for key in service.required_prefetch if prefetched.data.get(key) is None]:
        raise ProtocolError(
            412, "processing",
            f"Required prefetch data unavailable: {', '.join(missing)}. Send it as prefetch, or send "
            "fhirServer with fhirAuthorization so that the service can read it.",
            [f"prefetch.{key}" for key in missing],
        )
    call = HookCall(
        service_id=service.id, hook=service.hook, hook_instance=body["hookInstance"], context=body["context"],
        prefetch=prefetched.data, reference_date=settings.reference_date or datetime.now(timezone.utc).date(),
        unavailable=tuple(sorted(prefetched.unavailable)),
    )
    return Answer(cards=checked_cards(service.handler(call), service.id), call=call)


def checked_cards(cards: Any, service_id: str) -> list[dict]:
    """The handler's cards that pass our schema and card invariants; the others are dropped and logged."""
    if not isinstance(cards, list):
        raise TypeError(f"handler of {service_id} returned {type(cards).__name__}, not a list of cards")
    kept, dropped = protocol.keep_valid_cards(cards)
    for index, problems in dropped:
        log.error("card %d of %s dropped: %s", index, service_id, "; ".join(problems[:5]))
    return kept
