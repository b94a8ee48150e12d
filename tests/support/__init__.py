"""Shared test helpers (owned by the service foundation). Use them instead of writing your own.

Fixtures (tests/conftest.py, available in every test area):
- `live_service(handlers=None, **config_overrides)`: starts the REAL app (`create_app`) on 127.0.0.1
  with a random port in a thread and returns a `LiveService`, which is a `str` (its base URL) with
  `.restart(**overrides)` (new app instance, same port and database), `.stop()`, `.config`, `.app`.
  Defaults: development profile, a SQLite file per test module, trusted issuers = `test_issuer` +
  the public sandbox. Example: `base = live_service(reference_date=date(2026, 11, 21))`,
  `requests.post(base + "/cds-services/kmt2a-patient-view", json=request)`.
  `handlers={"kmt2a-patient-view": fn, ...}` replaces the handler table (must cover every service id).
- `test_issuer`: a `tokens.TestIssuer` (ES384 + RS384 keys) trusted by `live_service`.
- `service_dir`: the per-module directory holding that database and trusted-issuers file.

Modules:
- `tests.support.live`: `LiveService`, `test_config(directory, issuer, **overrides)`.
- `tests.support.tokens`: `TestIssuer.mint(aud, alg="ES384", claims=..., header=...)` (use `DROP` to
  remove a field), `unsigned_token`, `tamper`, `hmac_with_public_key`: keys and attack tokens.
- `tests.support.fhir_server`: `FhirTestServer(resources, page_size)` — a loopback FHIR server with
  read/search (patient, subject, category, code), paging, `slow_s`, `fail_next`, `status_for`,
  `outcome_for`, and `.requests` (with the Authorization header of each); `JsonServer(document)`.
- `tests.support.sandbox`: the captured CDS Hooks Sandbox traffic from ../shared/examples/sandbox,
  rewritten to our service ids (`captured(name)`, `SERVICE_FOR`).
- `protocol.validate_response(obj)` (in `cds_service`) returns the problems of a response; [] = valid.
"""
