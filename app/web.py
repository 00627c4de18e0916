"""What every HTTP answer carries: security headers, and the client's address behind trusted proxies.

- Every HTML page says it may not be framed (``Content-Security-Policy: frame-ancestors 'none'`` and
  ``X-Frame-Options: DENY``), so the one-click approve / authorize / pay forms cannot be clicked from
  another site; every answer says ``nosniff`` and a ``Referrer-Policy`` that keeps paths (ids, tokens in
  links) on this site; with secure cookies on (behind HTTPS) ``Strict-Transport-Security`` too.
- Behind a reverse proxy ``request.remote_addr`` is the proxy's: ``PORTICO_TRUSTED_PROXIES`` (the number of
  proxies in front, default 0) wraps the app in Werkzeug's ``ProxyFix`` so rate limits and the audit see
  the client's address, taken from exactly that many ``X-Forwarded-For`` hops and never more.
"""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

#: The policy of every page. Scripts are not restricted yet (FAB's pages carry inline scripts); framing,
#: plugins and a foreign <base> are.
CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'"


def register(app: Flask) -> None:
    proxies = int(app.config.get("PORTICO_TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0, x_prefix=0)
    hsts = bool(app.config.get("SESSION_COOKIE_SECURE"))

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", CSP)
            headers.setdefault("X-Frame-Options", "DENY")
        if hsts:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
