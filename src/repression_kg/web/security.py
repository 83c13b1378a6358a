"""Response headers that keep pages safe: a Content-Security-Policy without inline script, no sniffing, no framing.

HTML pages get CSP (script only from this origin, no plugins, no <base>, forms only to this
origin, no framing), Referrer-Policy and X-Frame-Options. Every other answer gets a CSP that
forbids everything (a file opened in a browser runs nothing), and every answer gets
`X-Content-Type-Options: nosniff` and CORS for any origin without credentials. The one page
that may be framed is the reconciliation preview: OpenRefine shows it in an iframe.
"""
from __future__ import annotations

from flask import Flask, request

HTML_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    # The one <style> element YASGUI inserts (its table's column resizer), allowed by its hash; a new
    # YASGUI may need a new hash (tests/browser/test_injection.py fails on any CSP violation).
    "style-src 'self' 'sha256-zCK2EVMoPc04mRF/g5CotUvxbJPWS+8V0b+s9ptqQIk='",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
FRAMED_POLICY = HTML_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
FRAMEABLE = {"reconcile.preview"}  # endpoints shown inside other sites' iframes
LINK_SCHEMES = ("http://", "https://", "/", "#")


def secure_headers(response):
    """Add the security headers to a response (those a view set itself are kept)."""
    headers = response.headers
    headers.setdefault("Access-Control-Allow-Origin", "*")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype in ("text/html", "application/xhtml+xml"):
        frameable = request.endpoint in FRAMEABLE
        headers.setdefault("Content-Security-Policy", FRAMED_POLICY if frameable else HTML_POLICY)
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if not frameable:
            headers.setdefault("X-Frame-Options", "DENY")
    else:
        headers.setdefault("Content-Security-Policy", OTHER_POLICY)
    return response


def is_linkable(href) -> bool:
    """Whether a page may link to this: a web IRI or a path of ours, never javascript:, data: and the like."""
    return isinstance(href, str) and href.startswith(LINK_SCHEMES) and not href.startswith("//")


def init_app(app: Flask) -> None:
    app.after_request(secure_headers)
    app.add_template_test(is_linkable, "linkable")
