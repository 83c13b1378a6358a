"""One error path: named constructors, and one handler that answers JSON or HTML.

JSON clients get {"ok": false, "status": N, "error": "message"}; browsers get an HTML page.
Unexpected exceptions are logged and answered 500 without a stack trace.
"""
from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError


class ApiError(HTTPException):
    """An HTTP error with a message for the client and optional extra headers."""

    def __init__(self, code: int, message: str, headers: dict | None = None):
        super().__init__(description=message)
        self.code = code
        self.extra_headers = headers or {}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def forbidden(message: str) -> ApiError:
    return ApiError(403, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def not_acceptable(message: str) -> ApiError:
    return ApiError(406, message)


def payload_too_large(limit: int) -> ApiError:
    return ApiError(413, f"The request body is larger than the limit of {limit} bytes.")


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, f"Unsupported Content-Type {content_type!r}: send application/sparql-query "
                         "or application/x-www-form-urlencoded.")


def service_unavailable(message: str, retry_after: int = 5) -> ApiError:
    return ApiError(503, message, {"Retry-After": str(retry_after)})


def wants_html() -> bool:
    """Whether the client prefers an HTML page to JSON."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes[best] > request.accept_mimetypes["application/json"]


def handle(error: HTTPException):
    """Render any HTTP error as JSON or HTML."""
    code = error.code or 500
    message = error.description or error.name
    if code == 413 and not isinstance(error, ApiError):
        message = payload_too_large(current_app.config["MAX_BODY_BYTES"]).description
    if wants_html():
        response = current_app.make_response((render_template("errors/error.html", code=code, name=error.name, message=message), code))
    else:
        response = jsonify({"ok": False, "status": code, "error": message})
        response.status_code = code
    for key, value in getattr(error, "extra_headers", {}).items():
        response.headers[key] = value
    if code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    response.headers["Vary"] = "Accept"
    return response


def handle_unexpected(error: Exception):
    """Log an unexpected exception; answer 500 with no detail."""
    current_app.logger.exception("Unexpected error on %s %s", request.method, request.path)
    return handle(InternalServerError("An unexpected error occurred; it has been logged."))


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle)
    app.register_error_handler(Exception, handle_unexpected)
