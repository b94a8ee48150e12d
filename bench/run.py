"""The benchmark: speed and memory targets of kmt2a-cds, each reported as a ratio against a baseline
measured in the same run on the same machine (absolute numbers on a shared 2-core box drift; ratios less).

    make bench            (or: .venv/bin/python bench/run.py [--requests N])

1. mapping   CPU time of fhir_mappings.case_from_hook_request on a ~150 KB, ~100-resource prefetch,
             against the baseline of json-parsing the same bytes.          target: median < 10 ms CPU
2. service   latency of POST kmt2a-patient-view (the large prefetch) and of the captured sandbox
             order-select request, through gunicorn on loopback with keep-alive, against GET /healthz on
             the same server.                                              target: p95 < 500 ms (CDS Hooks SHOULD)
3. memory    RSS of the gunicorn worker before and after the run.          target: growth < 50 MB

Writes bench/results/latest.json and prints a table; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fhir_mappings import case_from_hook_request  # noqa: E402
from tests.fixtures.fhir.large_prefetch import make_large_prefetch  # noqa: E402

SHARED = ROOT.parent / "shared"
REFERENCE_DATE = date(2026, 11, 21)
TARGETS = {"mapping_median_ms": 10.0, "service_p95_ms": 500.0, "worker_rss_growth_mb": 50.0}


def large_patient_view_request() -> dict:
    """A patient-view request as an EHR sends it, carrying the ~150 KB prefetch."""
    prefetch = make_large_prefetch()
    templates = json.loads((ROOT / "hooks.json").read_text())["services"][0]["prefetch"]
    prefetch |= {key: None for key in templates if key not in prefetch}  # null: "no data", so nothing is fetched
    return {"hookInstance": "6d0b7b7e-3c1a-4f7e-9a57-bench0000001", "hook": "patient-view",
            "context": {"patientId": prefetch["patient"]["id"], "userId": "Practitioner/bench"}, "prefetch": prefetch}


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _cpu_ms(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.process_time_ns()
        fn()
        out.append((time.process_time_ns() - start) / 1e6)
    return out


def bench_mapping(request: dict, repeat: int) -> dict:
    raw = json.dumps(request).encode()
    case_from_hook_request(request, reference_date=REFERENCE_DATE)  # warm imports and caches
    baseline = _cpu_ms(lambda: json.loads(raw), repeat)
    mapping = _cpu_ms(lambda: case_from_hook_request(request, reference_date=REFERENCE_DATE), repeat)
    return {
        "prefetch_bytes": len(raw),
        "prefetch_resources": sum(len(v.get("entry", [])) if isinstance(v, dict) and v.get("resourceType") == "Bundle" else 1
                                  for v in request["prefetch"].values() if v),
        "baseline_json_parse_median_ms": statistics.median(baseline),
        "mapping_median_ms": statistics.median(mapping),
        "mapping_p95_ms": _percentile(mapping, 0.95),
        "ratio_mapping_to_json_parse": statistics.median(mapping) / max(statistics.median(baseline), 1e-9),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker_rss_mb(master_pid: int) -> float:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    total = 0.0
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def _timed(session: requests.Session, method: str, url: str, body: bytes | None, n: int) -> list[float]:
    out = []
    headers = {"Content-Type": "application/json"} if body else {}
    for _ in range(n):
        start = time.perf_counter()
        response = session.request(method, url, data=body, headers=headers, timeout=10)
        out.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{method} {url} answered {response.status_code}: {response.text[:200]}")
    return out


def bench_service(request: dict, n: int) -> dict:
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="kmt2a-bench-")
    env = dict(os.environ, CDS_DATABASE_URL=f"sqlite:///{workdir}/bench.sqlite")
    gunicorn = [sys.executable, "-m", "gunicorn", "--preload", "--workers", "1", "--worker-class", "sync",
                "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "cds_service.web.app:create_app()"]
    server_log = open(Path(workdir) / "gunicorn.log", "wb")  # a pipe nobody reads would fill and stall the server
    server = subprocess.Popen(gunicorn, cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        session = requests.Session()
        for _ in range(100):
            try:
                if session.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise SystemExit("gunicorn did not start: " + (Path(workdir) / "gunicorn.log").read_text()[-500:])
        large = json.dumps(request).encode()
        sandbox = json.loads((SHARED / "examples/sandbox/order-select-4.json").read_text())["body"]
        _timed(session, "POST", f"{base}/cds-services/kmt2a-patient-view", large, 10)  # warm up
        rss_before = _worker_rss_mb(server.pid)
        health = _timed(session, "GET", f"{base}/healthz", None, n)
        patient_view = _timed(session, "POST", f"{base}/cds-services/kmt2a-patient-view", large, n)
        order_select = _timed(session, "POST", f"{base}/cds-services/kmt2a-order-select", json.dumps(sandbox).encode(), n)
        rss_after = _worker_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
        server_log.close()
    return {
        "requests_each": n,
        "baseline_healthz_median_ms": statistics.median(health),
        "patient_view_median_ms": statistics.median(patient_view),
        "patient_view_p95_ms": _percentile(patient_view, 0.95),
        "order_select_sandbox_median_ms": statistics.median(order_select),
        "service_p95_ms": max(_percentile(patient_view, 0.95), _percentile(order_select, 0.95)),
        "ratio_patient_view_to_healthz": statistics.median(patient_view) / statistics.median(health),
        "ratio_order_select_to_healthz": statistics.median(order_select) / statistics.median(health),
        "worker_rss_before_mb": rss_before,
        "worker_rss_after_mb": rss_after,
        "worker_rss_growth_mb": rss_after - rss_before,
        "ratio_rss_after_to_before": rss_after / rss_before,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint (default 300)")
    parser.add_argument("--repeat", type=int, default=300, help="mapping repetitions (default 300)")
    args = parser.parse_args()

    request = large_patient_view_request()
    results = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "mapping": bench_mapping(request, args.repeat),
        "service": bench_service(request, args.requests),
        "targets": TARGETS,
    }
    missed = [name for name, limit in TARGETS.items()
              if (results["mapping"] | results["service"])[name] > limit]
    results["missed_targets"] = missed
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    for section in ("mapping", "service"):
        for key, value in results[section].items():
            print(f"{section:8} {key:36} {value:10.3f}" if isinstance(value, float) else f"{section:8} {key:36} {value:>10}")
    print("targets missed: " + (", ".join(missed) if missed else "none"))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
