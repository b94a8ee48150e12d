"""Is the service still answering while slow clients hold connections open?

    .venv/bin/python bench/slow_clients.py [--slow 16] [--calls 20]

Starts the service with gunicorn.conf.py, opens `--slow` connections that send a request one byte every 0.5 s
(half of them dripping the headers, half a declared body), then times `--calls` ordinary typical patient-view
calls, each on a new connection, while the slow ones stay open. With sync workers, as many slow senders as
workers block every other call; the serving model must keep the ordinary calls near their unloaded latency.
Also used by `bench/run.py`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PATH = "/cds-services/kmt2a-patient-view"


def drip(port: int, mode: str, stop: threading.Event) -> None:
    """One slow client: the request line, then one byte every 0.5 s until told to stop."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if mode == "headers":
            sock.sendall(f"POST {PATH} HTTP/1.1\r\n".encode())
            pending = b"Host: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 1000
        else:
            sock.sendall(f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         f"Content-Length: 100000\r\n\r\n".encode())
            pending = b"{" + b" " * 99_999
        for byte in pending:
            if stop.wait(0.5):
                break
            sock.sendall(bytes([byte]))
        sock.close()
    except OSError:
        pass


def responsiveness(port: int, body: bytes, slow: int, calls: int, timeout: float = 10.0) -> dict:
    stop = threading.Event()
    drippers = [threading.Thread(target=drip, args=(port, "headers" if i % 2 else "body", stop), daemon=True)
                for i in range(slow)]
    for t in drippers:
        t.start()
    time.sleep(1.5)  # every slow client connected and holding whatever it holds
    samples, failures = [], 0
    for _ in range(calls):
        start = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            conn.request("POST", PATH, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                failures += 1
        except OSError:
            failures += 1
        samples.append((time.perf_counter() - start) * 1000)
    stop.set()
    for t in drippers:
        t.join(timeout=2)
    return {"slow_connections": slow, "calls": calls, "failures_or_timeouts": failures,
            "p50_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


def main() -> int:
    from bench.run import Server, patient_view_body

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=int, nargs="+", default=[0, 16, 32])
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    body = patient_view_body("typical", broad=True)
    server = Server("cds_service.web.app:create_app()", Path(tempfile.mkdtemp(prefix="kmt2a-slow-")), "slow")
    try:
        server.wait_listening()
        out = [responsiveness(server.port, body, n, args.calls) for n in args.slow]
    finally:
        server.stop()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
