"""The production WSGI server: waitress, with one fix for a request that would hang."""
from __future__ import annotations

import waitress
from waitress.channel import HTTPChannel

_send_continue = HTTPChannel.send_continue


def _send_continue_only_for_a_body(channel: HTTPChannel) -> None:
    """Skip "100 Continue" for a request without a body.

    waitress sends it even then and marks the finished request as incomplete, so a request with
    "Expect: 100-continue" and no body waited for its channel timeout (120 s) unanswered.
    """
    request = channel.request
    if not request.chunked and not request.content_length:
        request.expect_continue = False
        return
    _send_continue(channel)


def serve(app, host: str, port: int, threads: int) -> None:
    """Serve the app until interrupted."""
    HTTPChannel.send_continue = _send_continue_only_for_a_body
    # waitress would strip X-Forwarded-For; the app trusts it only behind PROXY_HOPS proxies (web/limits.py).
    waitress.serve(app, host=host, port=port, threads=threads, ident="repression-kg",
                   clear_untrusted_proxy_headers=False)
