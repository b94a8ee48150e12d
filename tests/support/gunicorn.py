"""The real serving model for tests: gunicorn with the project's gunicorn.conf.py on an ephemeral loopback port.

    with served(tmp_path, workers=2) as (port, database_url):
        requests.get(f"http://127.0.0.1:{port}/cds-services")
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def served(directory: Path, workers: int = 2):
    database_url = f"sqlite:///{directory / 'store.sqlite'}"
    env = dict(os.environ, CDS_DATABASE_URL=database_url, WEB_CONCURRENCY=str(workers))
    log = directory / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", "127.0.0.1:0",
                                 "--access-logfile", "/dev/null", "--log-level", "info",
                                 "cds_service.web.app:create_app()"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        port = None
        for _ in range(1200):
            text = log.read_text()
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
            if found and len(re.findall(r"Booting worker", text)) >= workers:
                port = int(found.group(1))
                break
            if proc.poll() is not None:
                raise RuntimeError("gunicorn exited: " + text[-2000:])
            time.sleep(0.05)
        if port is None:
            raise RuntimeError("gunicorn did not start: " + log.read_text()[-2000:])
        yield port, database_url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
