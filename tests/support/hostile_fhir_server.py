"""A loopback FHIR server that misbehaves on purpose, one way per base URL:

    with HostileFhirServer() as server:
        server.base("gzip-bomb")   # http://127.0.0.1:<port>/gzip-bomb/fhir

Modes: `gzip-bomb` (a tiny gzip body that inflates to 1 GiB), `huge` (an endless identity body),
`drip` (a valid Bundle, one byte every 0.2 s), `hang` (headers, then silence), `redirect` (302 to another
host), `endless-paging` (every page links to a next one), `deep` (JSON nested 500 levels, which orjson accepts), `lying-gzip`
(a plain body labelled gzip). Every request is counted in `hits[mode]`.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.support.fhir_server import LoopbackServer

EMPTY_BUNDLE = {"resourceType": "Bundle", "type": "searchset", "total": 0}


def gzip_bomb(inflated_bytes: int) -> bytes:
    """A gzip stream of `inflated_bytes` zeros, ~1/1000 of that size, made without holding it inflated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [compressor.compress(block) for _ in range(inflated_bytes >> 20)]
    return b"".join(parts) + compressor.flush()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        owner: HostileFhirServer = self.server.owner  # type: ignore[attr-defined]
        mode = urlsplit(self.path).path.strip("/").split("/")[0]
        owner.hits[mode] += 1
        try:
            getattr(self, "_" + mode.replace("-", "_"))(owner)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: that is what the tests want it to do

    def _head(self, length: int | None = None, encoding: str | None = None, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        if encoding:
            self.send_header("Content-Encoding", encoding)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _gzip_bomb(self, owner) -> None:
        self._head(len(owner.bomb), "gzip")
        self.wfile.write(owner.bomb)

    def _huge(self, owner) -> None:
        self._head(None)  # no length: the body ends when the connection closes, which it never does first
        self.close_connection = True
        chunk = b" " * 65536
        for _ in range(1 << 14):  # up to 1 GiB
            self.wfile.write(chunk)

    def _drip(self, owner) -> None:
        body = json.dumps(EMPTY_BUNDLE).encode()
        self._head(len(body))
        for byte in body:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(0.2)

    def _hang(self, owner) -> None:
        self._head(100)
        self.wfile.flush()
        owner.release.wait(30)

    def _redirect(self, owner) -> None:
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.2:9/fhir/Patient/x")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _endless_paging(self, owner) -> None:
        page = dict(EMPTY_BUNDLE, link=[{"relation": "next",
                                         "url": f"{owner.base('endless-paging')}/Observation?page={time.monotonic()}"}])
        body = json.dumps(page).encode()
        self._head(len(body))
        self.wfile.write(body)

    def _deep(self, owner) -> None:
        body = b'{"resourceType":"Bundle","type":"searchset","entry":' + b"[" * 500 + b"]" * 500 + b"}"
        self._head(len(body))
        self.wfile.write(body)

    def _lying_gzip(self, owner) -> None:
        body = json.dumps(EMPTY_BUNDLE).encode()
        self._head(len(body), "gzip")
        self.wfile.write(body)

    def _good_gzip(self, owner) -> None:
        body = gzip.compress(json.dumps(EMPTY_BUNDLE).encode())
        self._head(len(body), "gzip")
        self.wfile.write(body)


class HostileFhirServer(LoopbackServer):
    handler = _Handler

    def __init__(self, bomb_bytes: int = 1 << 30):
        self.bomb = gzip_bomb(bomb_bytes)
        self.hits: Counter = Counter()
        self.release = threading.Event()
        super().__init__()

    def base(self, mode: str) -> str:
        return f"{self.url}/{mode}/fhir"

    def __exit__(self, *exc) -> None:
        self.release.set()
        super().__exit__(*exc)
