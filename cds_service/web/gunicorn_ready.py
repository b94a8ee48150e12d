"""gunicorn hooks for `make run` (`-c python:cds_service.web.gunicorn_ready`): one line saying the service is ready.

gunicorn calls `when_ready` once its sockets listen (with --preload, after the app and its knowledge loaded);
a request sent from then on is answered as soon as a worker takes it, so scripts may wait for this line or poll
GET /healthz.
"""


def when_ready(server) -> None:
    for listener in server.LISTENERS:
        print(f"kmt2a-cds ready: {listener}/cds-services (discovery), {listener}/healthz (health)", flush=True)
