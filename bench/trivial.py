"""The baseline of `make bench`: a trivial Flask endpoint served by the same gunicorn.conf.py as the service.
It reads the same request body and answers `{"cards": []}`, so the ratio isolates our work from HTTP, gunicorn
and body transfer."""

from flask import Flask, Response, request


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/cds-services/<service_id>")
    def call(service_id: str) -> Response:
        request.get_data(cache=False)
        return Response(b'{"cards": []}', mimetype="application/json")

    return app
