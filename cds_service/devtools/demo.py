"""`make demo`: the CDS service and a loopback FHIR R4 server holding the demo patients, then what to try.

    python -m cds_service.devtools.demo [--port 8091] [--fhir-port 8090] [--data demo/]

Both servers listen on 127.0.0.1 only. The service runs in this process on werkzeug's threaded server (one
process is enough for a demo; `make run` is the gunicorn set-up). It reads the FHIR server itself: the curl
commands send `fhirServer` and a placeholder `fhirAuthorization` and no prefetch, so the fetch path is what runs.
The default ports leave 8080 free for a locally run CDS Hooks Sandbox, whose development server takes it.
Port 0 picks free ports (the tests use it); the lines starting `CDS service:` and `FHIR server:` carry the URLs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import requests

from cds_service.devtools.fhir_server import FhirServer
from cds_service.devtools.fhir_store import FhirStore

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
DEMO_TOKEN = "demo-token"  # the demo FHIR server accepts any token; the service fetches only when one is sent
READY_TIMEOUT_S = 60.0


def demo_patients(data_dir: Path) -> list[dict]:
    return json.loads((data_dir / "patients.json").read_text(encoding="utf-8"))["patients"]


def patient_view_request(patient_id: str, fhir_base: str) -> dict:
    """A patient-view call without prefetch: the service fetches from `fhir_base` (the fetch path)."""
    return {
        "hookInstance": "d5b3c0a1-6f3e-4e0b-9a52-3f0c2f4b8e11", "hook": "patient-view",
        "fhirServer": fhir_base,
        "fhirAuthorization": {"access_token": DEMO_TOKEN, "token_type": "Bearer", "expires_in": 300,
                              "scope": "patient/*.read", "subject": "kmt2a-cds-demo", "patient": patient_id},
        "context": {"patientId": patient_id, "userId": "Practitioner/demo-oncologist"},
    }


def sandbox_url(fhir_base: str, patient_id: str, discovery: str, sandbox: str = "http://localhost:8080") -> str:
    """The sandbox pre-configured by its URL parameters (fhirServiceUrl, patientId, serviceDiscoveryURL)."""
    return f"{sandbox}/?" + urlencode({"fhirServiceUrl": fhir_base, "patientId": patient_id,
                                       "serviceDiscoveryURL": discovery})


class Demo:
    """Both servers, started and ready. `stop()` ends them."""

    def __init__(self, data_dir: Path = DEMO_DIR, port: int = 8091, fhir_port: int = 8090):
        from werkzeug.serving import make_server

        from cds_service.web.app import create_app
        from cds_service.web.config import Config

        self.data_dir = data_dir
        self.patients = demo_patients(data_dir)
        self.store = FhirStore()
        for patient in self.patients:
            self.store.load_path(data_dir / patient["file"])
        self.fhir = FhirServer(self.store, fhir_port).start()
        config = dataclasses.replace(Config.from_env(), port=port)
        self._httpd = make_server("127.0.0.1", port, create_app(config), threaded=True)
        self.service = f"http://127.0.0.1:{self._httpd.server_port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="demo-service", daemon=True)
        self._thread.start()
        self.wait_ready()

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        for url in (f"{self.fhir.base}/metadata", f"{self.service}/healthz"):
            while True:
                try:
                    if requests.get(url, timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not answer within {timeout_s:g} s")
                time.sleep(0.2)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self.fhir.stop()

    def curl_function(self) -> str:
        """A one-line shell function `demo_cards PATIENT_ID`: patient-view without prefetch, pretty-printed."""
        body = json.dumps(patient_view_request("__PATIENT__", self.fhir.base), separators=(",", ":"))
        body = body.replace('"', '\\"').replace("__PATIENT__", "$1")
        return (f"demo_cards() {{ curl -s -X POST {self.service}/cds-services/kmt2a-patient-view "
                f"-H 'Content-Type: application/json' -d \"{body}\" | python3 -m json.tool; }}")

    def instructions(self) -> str:
        discovery = f"{self.service}/cds-services"
        lines = [f"CDS service: {discovery}", f"FHIR server: {self.fhir.base}", "",
                 f"Demo patients ({len(self.patients)}, synthetic), loaded from {self.data_dir}:"]
        for p in self.patients:
            lines.append(f"  {p['id']:<28} {p['title']}")
        first = self.patients[0]["id"]
        lines += ["", "Cards per patient with curl (the service reads the FHIR server itself; no prefetch is sent).",
                  "Paste the function once, then call it with a patient id:",
                  "  " + self.curl_function(),
                  *[f"  demo_cards {p['id']}" for p in self.patients], "",
                  "The same cards in the terminal, from the Bundle file (no server needed):",
                  f"  .venv/bin/kmt2a-cds cards {self.data_dir.name}/{self.patients[0]['file']}",
                  f"  .venv/bin/kmt2a-cds assess {self.data_dir.name}/{self.patients[0]['file']}", "",
                  "CDS Hooks Sandbox (run locally on http://localhost:8080, see README 'Try it with the CDS Hooks Sandbox'):",
                  f"  FHIR server (Change FHIR Server):   {self.fhir.base}",
                  f"  Patient (Change Patient):           {first}",
                  f"  CDS service (Add CDS Services):     {discovery}",
                  f"  or open at once: {sandbox_url(self.fhir.base, first, discovery)}",
                  "", "Ready. Ctrl-C stops both servers."]
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", 8091)), help="CDS service port")
    parser.add_argument("--fhir-port", type=int, default=int(os.environ.get("DEMO_FHIR_PORT", 8090)))
    parser.add_argument("--data", type=Path, default=DEMO_DIR, help="folder with patients.json and the Bundles")
    args = parser.parse_args(argv)
    print("Starting the demo FHIR server and the CDS service ...", flush=True)
    try:
        demo = Demo(args.data, args.port, args.fhir_port)
    except OSError as error:
        print(f"make demo: cannot listen ({error.strerror}); another process may hold the port. "
              "Choose others: make demo DEMO_PORT=9091 DEMO_FHIR_PORT=9090", file=sys.stderr)
        return 1
    print(demo.instructions(), flush=True)
    # Ctrl-C, or a TERM from a supervisor or test, stops both servers cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
