"""gunicorn settings of `make run` and `make bench` (one place, so the benchmark measures what we serve)."""

import multiprocessing
import os

from cds_service.web.gunicorn_ready import post_worker_init, when_ready  # noqa: F401 - "ready" line; store connect

bind = f"127.0.0.1:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
# Threads, not sync workers: a sync worker is held by one slow client for as long as it takes to send its request,
# so as many slow senders as workers stopped the service (issue 17). gthread parks idle and kept-alive
# connections in its poller, and a thread held by a dripping client leaves the others serving; 32 threads per
# worker keep answering with 32 slow connections open (bench/slow_clients.py). The CPU work still shares one
# GIL per worker, so throughput stays one core per worker. An async worker (gevent) was not chosen: it must
# patch the standard library before anything imports ssl, which --preload defeats.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
preload_app = True
accesslog = "-"

