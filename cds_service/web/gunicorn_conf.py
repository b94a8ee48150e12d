"""gunicorn settings for production (`make serve`; the Dockerfile and deploy/ use it too):
`gunicorn -c python:cds_service.web.gunicorn_conf 'cds_service.web.app:create_app()'`.

- HOST, PORT and WORKERS come from the environment (defaults 127.0.0.1, 8080, the number of CPUs; the image
  sets HOST=0.0.0.0).
- Prometheus multiprocess mode: a fresh PROMETHEUS_MULTIPROC_DIR unless one is given (then emptied at start),
  and a dead worker's live gauges are dropped.
- Every log line, gunicorn's own included, is one JSON object (timestamp, level, logger, message).
Anything set here can still be overridden on the gunicorn command line.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from cds_service.web.gunicorn_ready import post_worker_init  # noqa: F401 - each worker connects its store at boot

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WORKERS") or os.cpu_count() or 2)
preload_app = True  # knowledge, tables and schema load once, before the fork
# The serving model of `make run` (gunicorn.conf.py says why: slow clients must not hold a worker each).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
accesslog = "-"
access_log_format = '%(m)s %(U)s %(s)s %(B)s %(M)sms'  # method, path without the query, status, bytes, duration
control_socket_disable = True  # gunicorn >= 24 would write one under $HOME; the container's root is read-only

_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_dir:
    shutil.rmtree(_metrics_dir, ignore_errors=True)  # counts of an earlier run would be added to ours
    os.makedirs(_metrics_dir, exist_ok=True)
else:
    _metrics_dir = tempfile.mkdtemp(prefix="kmt2a-cds-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir

_json = {"()": "cds_service.web.audit.json_formatter"}  # the service's own log lines' format
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": _json},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
                 "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        "alembic": {"level": "WARNING"},  # cds_service.migrations logs the one line that matters
    },
}


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
