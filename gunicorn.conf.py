"""gunicorn settings of `make run` and `make bench` (one place, so the benchmark measures what we serve)."""

import multiprocessing
import os

bind = f"127.0.0.1:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
worker_class = "sync"
preload_app = True
accesslog = "-"
