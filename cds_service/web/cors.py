"""CORS for browser clients (the CDS Hooks Sandbox runs in a browser).

Every response, errors included, carries `Access-Control-Allow-Origin` for an allowed origin; preflight
answers allow `Authorization, Content-Type`. Development allows any origin (echoed, with `Vary: Origin`),
production only `CDS_CORS_ORIGINS`. We never send `*`, and never allow credentials: the JWT travels in
the Authorization header, not in cookies.
"""

from __future__ import annotations

from flask import Request, Response

ALLOW_HEADERS = "Authorization, Content-Type"
ALLOW_METHODS = "GET, POST, OPTIONS"
MAX_AGE_S = "600"


def origin_allowed(origin: str, allowed: tuple[str, ...], production: bool) -> bool:
    if allowed:
        return origin.rstrip("/") in allowed
    return not production


def add_headers(request: Request, response: Response, allowed: tuple[str, ...], production: bool) -> Response:
    origin = request.headers.get("Origin")
    response.vary.add("Origin")
    if not origin or not origin_allowed(origin, allowed, production):
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE_S
    return response
