"""The warm-up call before the fork exercises every service for real (else the first call pays for it)."""

from __future__ import annotations

from cds_service import knowledge
from cds_service.hooks import pipeline, registry
from cds_service.hooks.handlers import HANDLERS
from cds_service.web import warmup
from cds_service.web.config import HOOKS_FILE


def test_every_service_answers_the_synthetic_call_with_cards():
    knowledge.load_all()
    answered = warmup.answer_every_service(registry.load(HOOKS_FILE, HANDLERS), pipeline.Settings())
    assert set(answered) == {"kmt2a-patient-view", "kmt2a-order-select", "kmt2a-order-sign"}
    assert all(count >= 1 for count in answered.values()), answered  # the mappers, rules and cards all ran
