"""gunicorn settings of `make run` and `make bench`: production's (cds_service/web/gunicorn_conf.py: the serving
model, JSON logs, access lines without query strings, Prometheus multiprocess metrics), on loopback, with the
"kmt2a-cds ready" line, so the benchmark measures what we serve."""

import multiprocessing
import os

from cds_service.web.gunicorn_conf import *  # noqa: F401,F403 - one serving model for run, bench and serve
from cds_service.web.gunicorn_ready import when_ready  # noqa: F401 - prints "kmt2a-cds ready" once listening

bind = f"127.0.0.1:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
