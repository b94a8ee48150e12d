"""The baselines of `make bench`, served by the same gunicorn.conf.py as the service.

- `create_app`: a trivial Flask endpoint. It reads the same request body and answers `{"cards": []}`, so the ratio
  isolates our work from HTTP, gunicorn and body transfer.
- `create_parse_floor_app`: the same, but it also parses the body into Python objects with orjson, as any reader of
  the request must. Its CPU per request is the floor under every service that reads the chart in Python: how much
  of the "<= 4 x trivial" budget is spent before the first resource is looked at.
"""

import orjson
from flask import Flask, Response, request

from cds_service.web.app import _collector_paused  # parse as the service parses (without the cyclic collector)


def create_app(parse: bool = False) -> Flask:
    app = Flask(__name__)

    @app.post("/cds-services/<service_id>")
    def call(service_id: str) -> Response:
        body = request.get_data(cache=False)
        if parse:
            with _collector_paused():
                orjson.loads(body)
        return Response(b'{"cards": []}', mimetype="application/json")

    return app


def create_parse_floor_app() -> Flask:
    return create_app(parse=True)
