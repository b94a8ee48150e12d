"""gunicorn hooks for `make run` (imported by gunicorn.conf.py): one line saying the service is ready; and the
worker's store connection, which the production settings (cds_service/web/gunicorn_conf.py) use as well.

gunicorn calls `when_ready` once its sockets listen (with --preload, after the app and its knowledge loaded);
a request sent from then on is answered as soon as a worker takes it, so scripts may wait for this line or poll
GET /healthz.
"""


def when_ready(server) -> None:
    for listener in server.LISTENERS:
        print(f"kmt2a-cds ready: {listener}/cds-services (discovery), {listener}/healthz (health)", flush=True)


def post_worker_init(worker) -> None:
    """Connect the worker's store before its first call (connections are never inherited across the fork)."""
    runtime = getattr(worker.wsgi, "extensions", {}).get("kmt2a_cds")
    if runtime is None:
        return
    try:
        runtime.store.connect()
    except Exception:  # noqa: BLE001 - a store down at boot must not stop the worker: /readyz reports it
        worker.log.warning("store not reachable at worker start; the first call will connect")
