"""The soak: hostile and ordinary traffic for a long while, with workers killed, against the real server.

    make soak                      (or: .venv/bin/python bench/soak.py [--fuzz N] [--seconds S] [--workers W])

1. fuzz      N (default 10,000) mutated requests built from the captured sandbox traffic and our fixtures
             (values replaced at random paths with odd JSON, placeholder dates, NUL, deep nesting, huge
             numbers; keys dropped; bodies cut, gzipped or mislabelled), on 4 connections. Any 5xx fails.
2. capacity  the requests per second the server sustains on 4 connections with the mixed load below.
3. soak      S seconds (default 600) of mixed load (patient-view, order-select, order-sign, feedback) at 70 % of
             that capacity, a worker SIGKILLed every 60 s. Prints requests, status counts, p50/p99, worker RSS
             and thread counts at start and end, and feedback rows acknowledged vs found in the store.

Not part of `make test` (it runs for minutes); exits 1 on any 5xx or a lost feedback row.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cds_service.web.store import Store  # noqa: E402

SANDBOX = ROOT.parent / "shared" / "examples" / "sandbox"
FIXTURES = ROOT / "tests" / "fixtures"
SERVICE_FOR = {"patient-view": "kmt2a-patient-view", "order-select": "kmt2a-order-select",
               "order-sign": "kmt2a-order-sign"}
ODD = [None, True, 0, -1, 1e308, 10**30, "", "x" * 5000, "a\x00b", "0001-01-01", "9999-12-31T23:59:59Z",
       "2026-13-45", [], {}, [[[[[]]]]], {"resourceType": "OperationOutcome"}, {"resourceType": "Bundle"}]


def seeds() -> list[tuple[str, dict]]:
    """(service id, request body) of every captured and fixture request."""
    found = []
    for path in sorted(SANDBOX.glob("*.json")):
        capture = json.loads(path.read_text())
        body = capture.get("body") if isinstance(capture, dict) else None
        if isinstance(body, dict) and body.get("hook") in SERVICE_FOR:
            found.append((SERVICE_FOR[body["hook"]], body))
    for path in sorted((FIXTURES / "requests").glob("*.json")) + sorted((FIXTURES / "orders").glob("*.json")):
        body = json.loads(path.read_text())
        if body.get("hook") in SERVICE_FOR:
            found.append((SERVICE_FOR[body["hook"]], body))
    return found


def _paths(value, path=()):
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield path + (key,)
        yield from _paths(item, path + (key,))


def mutate(body: dict, rng: random.Random) -> tuple[bytes, dict]:
    """One hostile variant of `body`: (bytes to send, extra headers)."""
    body = copy.deepcopy(body)
    paths = list(_paths(body))
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(paths)
        parent = body
        try:
            for key in path[:-1]:
                parent = parent[key]
            if rng.random() < 0.2 and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = copy.deepcopy(rng.choice(ODD))  # a shared odd value could be nested in itself
        except (KeyError, IndexError, TypeError):
            continue
    data = json.dumps(body).encode()  # the stdlib writes integers past 64 bits; orjson refuses them
    roll = rng.random()
    if roll < 0.05:
        return data[: rng.randint(0, len(data))], {}
    if roll < 0.10:
        return gzip.compress(data), {"Content-Encoding": "gzip"}
    if roll < 0.13:
        return data, {"Content-Encoding": "gzip"}
    if roll < 0.16:
        return data.replace(b"{", b'{"deep":' + b"[" * 300 + b"]" * 300 + b",", 1), {}
    return data, {}


def start_server(workers: int, database_url: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CDS_DATABASE_URL": database_url, "PORT": str(port), "WORKERS": str(workers)}
    process = subprocess.Popen(["make", "-s", "-C", str(ROOT), "run"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    until = time.monotonic() + 120
    while time.monotonic() < until:
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return process, base
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit("the server did not start")


def gunicorn_master(process: subprocess.Popen) -> int:
    """The gunicorn master below `make run` (make may start it through a shell): the first gunicorn process."""
    queue = list(_children(process.pid))
    while queue:
        pid = queue.pop(0)
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if any(arg.rsplit(b"/", 1)[-1] == b"gunicorn" for arg in argv[:2]):  # not the shell that names it
            return pid
        queue += _children(pid)
    raise SystemExit("no gunicorn master")


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def worker_stats(master: int) -> list[dict]:
    stats = []
    for pid in _children(master):
        status = Path(f"/proc/{pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        stats.append({"pid": pid, "rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
                      "threads": int(fields["Threads"])})
    return stats


def fuzz(base: str, count: int, rng: random.Random) -> Counter:
    bodies = seeds()
    statuses: Counter = Counter()
    five_hundreds: list[str] = []
    lock = threading.Lock()
    jobs = iter(range(count))

    def run():
        session = requests.Session()
        local = random.Random(rng.random())
        for _ in iter(lambda: next(jobs, None), None):
            service, body = local.choice(bodies)
            data, headers = mutate(body, local)
            try:
                response = session.post(f"{base}/cds-services/{service}", data=data, timeout=30,
                                        headers={"Content-Type": "application/json", **headers})
                status = response.status_code
            except requests.RequestException as error:
                status = type(error).__name__
            with lock:
                statuses[status] += 1
                if isinstance(status, int) and status >= 500:
                    five_hundreds.append(data[:200].decode(errors="replace"))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for sample in five_hundreds[:5]:
        print("  5xx for:", sample)
    return statuses


class MixedLoad:
    """Ordinary calls in rotation; feedback cards remembered when acknowledged."""

    def __init__(self, base: str):
        self.base = base
        self.bodies = seeds()
        self.acknowledged: list[str] = []
        self.statuses: Counter = Counter()
        self.latencies: list[float] = []
        self.lock = threading.Lock()

    def one(self, session: requests.Session, n: int) -> None:
        started = time.perf_counter()
        try:
            if n % 5 == 4:
                card = str(uuid.uuid4())
                item = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-29T10:00:00Z"}
                response = session.post(f"{self.base}/cds-services/kmt2a-patient-view/feedback",
                                        json={"feedback": [item]}, timeout=30)
                if response.status_code == 200:
                    with self.lock:
                        self.acknowledged.append(card)
            else:
                service, body = self.bodies[n % len(self.bodies)]
                response = session.post(f"{self.base}/cds-services/{service}", json=body, timeout=30)
            status = response.status_code
        except requests.RequestException as error:
            status = type(error).__name__
        with self.lock:
            self.statuses[status] += 1
            self.latencies.append((time.perf_counter() - started) * 1000)

    def run(self, seconds: float, rate: float | None, connections: int = 4) -> None:
        stop_at = time.monotonic() + seconds
        counter = iter(range(10**9))
        interval = connections / rate if rate else 0.0

        def loop():
            session = requests.Session()
            next_at = time.monotonic()
            while time.monotonic() < stop_at:
                self.one(session, next(counter))
                if interval:
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.monotonic()))

        threads = [threading.Thread(target=loop) for _ in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{tmp}/soak.db"
        process, base = start_server(args.workers, database_url)
        try:
            master = gunicorn_master(process)
            start_stats = worker_stats(master)
            print(f"workers at start: {start_stats}")
            started = time.monotonic()
            statuses = fuzz(base, args.fuzz, rng)
            print(f"fuzz: {args.fuzz} requests in {time.monotonic() - started:.0f} s, statuses {dict(statuses)}")
            probe = MixedLoad(base)
            probe.run(15, rate=None)
            capacity = len(probe.latencies) / 15
            rate = 0.7 * capacity
            print(f"capacity: {capacity:.1f} requests/s on 4 connections; soaking at {rate:.1f}/s")
            load = MixedLoad(base)
            killer_stop = threading.Event()
            kills = []

            def killer():
                while not killer_stop.wait(60):
                    victims = _children(master)
                    if victims:
                        os.kill(rng.choice(victims), signal.SIGKILL)
                        kills.append(time.monotonic())

            killing = threading.Thread(target=killer, daemon=True)
            killing.start()
            load.run(args.seconds, rate=rate)
            killer_stop.set()
            time.sleep(2)
            end_stats = worker_stats(master)
            found = {row.card_uuid for row in Store(database_url).feedback_rows()}
            lost = [card for card in load.acknowledged if card not in found]
            print(f"soak: {len(load.latencies)} requests in {args.seconds:.0f} s, {len(kills)} worker kills, "
                  f"statuses {dict(load.statuses)}")
            print(f"latency ms: p50 {percentile(load.latencies, 0.5):.1f}, p99 {percentile(load.latencies, 0.99):.1f}")
            print(f"workers at end: {end_stats}")
            print(f"feedback rows: {len(load.acknowledged)} acknowledged, {len(load.acknowledged) - len(lost)} found, "
                  f"{len(lost)} lost")
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    failed = any(isinstance(s, int) and s >= 500 for s in statuses | load.statuses) or bool(lost)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
