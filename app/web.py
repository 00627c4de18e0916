"""What every HTTP answer carries: security headers, and the client's address behind trusted proxies.

- Every HTML page says it may not be framed (``Content-Security-Policy: frame-ancestors 'none'`` and
  ``X-Frame-Options: DENY``), so the one-click approve / authorize / pay forms cannot be clicked from
  another site; every answer says ``nosniff`` and a ``Referrer-Policy`` that keeps paths (ids, tokens in
  links) on this site; with secure cookies on (behind HTTPS) ``Strict-Transport-Security`` too.
- Input no database column can hold is refused before any view runs: a NUL byte or a lone surrogate in
  the query string or a form field is a 400, an id in the path beyond 64 bits a 404, a REST ``q`` that
  is no Rison (or nested absurdly deep) a 400 in JSON.
- Behind a reverse proxy ``request.remote_addr`` is the proxy's: ``PORTICO_TRUSTED_PROXIES`` (the number of
  proxies in front, default 0) wraps the app in Werkzeug's ``ProxyFix`` so rate limits and the audit see
  the client's address, taken from exactly that many ``X-Forwarded-For`` hops and never more.
"""
from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.middleware.proxy_fix import ProxyFix

#: Ids in URLs are database integers: anything longer cannot name a row (and must not reach the driver).
LARGEST_ID = 2**63 - 1
LARGEST_PAGE = 1_000_000
LARGEST_PAGE_SIZE = 100

#: The policy of every page. Scripts are not restricted yet (FAB's pages carry inline scripts); framing,
#: plugins and a foreign <base> are.
CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'"


def register(app: Flask) -> None:
    proxies = int(app.config.get("PORTICO_TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0, x_prefix=0)
    hsts = bool(app.config.get("SESSION_COOKIE_SECURE"))

    @app.before_request
    def refuse_unstorable_input():
        for value in (request.view_args or {}).values():
            text = str(value)
            if text.isdigit() and int(text) > LARGEST_ID:
                abort(404)
        if request.args and any(not storable(v) for v in request.args.values()):
            abort(400, "A value in the address contains characters that cannot be stored.")
        for name, value in request.args.items():  # the generated lists' paging (page_<View>, psize_<View>)
            if (name.startswith("page_") and not _number_in(value, 0, LARGEST_PAGE)) or (
                    name.startswith("psize_") and not _number_in(value, 1, LARGEST_PAGE_SIZE)):
                abort(400, f"{name} must be a whole number from {0 if name.startswith('page_') else 1} to "
                           f"{LARGEST_PAGE if name.startswith('page_') else LARGEST_PAGE_SIZE}.")
        if request.path.startswith("/api/") and "q" in request.args and not rison_ok(request.args["q"]):
            abort(400, "The q parameter is not valid Rison, e.g. (page:0,page_size:20).")
        if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            if any(not storable(v) for v in request.form.values()):
                abort(400, "A field contains characters that cannot be stored (a NUL byte or a broken "
                           "character).")
        if request.method in ("POST", "PUT", "PATCH") and request.is_json:
            if not storable_json(request.get_json(silent=True)):
                abort(400, "A value in the body contains characters that cannot be stored.")

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


def _number_in(text: str, low: int, high: int) -> bool:
    return text.isdigit() and len(text) <= 9 and low <= int(text) <= high


def storable(text) -> bool:
    """Can a text column hold this? No NUL byte (PostgreSQL refuses it), no lone surrogate (not UTF-8)."""
    if not isinstance(text, str):
        return True
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable_json(value) -> bool:
    """``storable`` for every key and string inside a parsed JSON body."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return all(storable(k) and storable_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(storable_json(v) for v in value)
    return True


#: Deeper than this, a Rison ``q`` is no query a client means (FAB's parser would recurse until it fails).
RISON_DEPTH = 20


def rison_ok(text: str) -> bool:
    """Does ``text`` parse as Rison (or JSON, which FAB takes too), nested at most ``RISON_DEPTH`` levels?"""
    import json

    import prison

    depth = deepest = 0
    for char in text:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    if deepest > RISON_DEPTH:
        return False
    try:
        prison.loads(text)
    except prison.decoder.ParserException:
        try:
            json.loads(text)
        except (ValueError, RecursionError):
            return False
    except Exception:  # noqa: BLE001 - e.g. RecursionError: prison fails in several ways on bad input
        return False
    return True
