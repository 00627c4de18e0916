"""What every HTTP answer carries: security headers, and the client's address behind trusted proxies.

- Every HTML page says it may not be framed (``Content-Security-Policy: frame-ancestors 'none'`` and
  ``X-Frame-Options: DENY``), so the one-click approve / authorize / pay forms cannot be clicked from
  another site, and runs only scripts of this origin or inline scripts with the response's nonce; every
  answer says ``nosniff`` and a ``Referrer-Policy`` that keeps paths (ids, tokens in
  links) on this site; with secure cookies on (behind HTTPS) ``Strict-Transport-Security`` too.
- Input no database column can hold is refused before any view runs: a NUL byte or a lone surrogate in
  the query string or a form field is a 400, an id in the path beyond the 32-bit keys a 404, a REST ``q`` that
  is no Rison (or nested absurdly deep) a 400 in JSON.
- Behind a reverse proxy ``request.remote_addr`` is the proxy's: ``PORTICO_TRUSTED_PROXIES`` (the number of
  proxies in front, default 0) wraps the app in Werkzeug's ``ProxyFix`` so rate limits and the audit see
  the client's address, taken from exactly that many ``X-Forwarded-For`` hops and never more.
"""
from __future__ import annotations

import functools
import secrets

from flask import Flask, abort, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

#: Ids in URLs are database integers: anything longer cannot name a row (and must not reach the driver).
LARGEST_ID = 2**31 - 1  # every primary key is an INTEGER (32 bits on PostgreSQL)
LARGEST_PAGE = 1_000_000
LARGEST_PAGE_SIZE = 100

#: The policy of every page. Scripts are not restricted yet (FAB's pages carry inline scripts); framing,
#: plugins and a foreign <base> are.
#: Scripts only from Portico's own origin, or inline with this response's nonce (FAB's templates and ours
#: put ``nonce="{{ csp_nonce() }}"`` on every inline script); no plugins, no foreign base, no framing.
CSP = ("script-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")


def _no_such_route(*_args, **_kwargs):
    abort(404)


def close_unused_routes(app: Flask) -> None:
    """FAB gives every ModelView a ``download/<filename>`` route that serves files from ``UPLOAD_FOLDER``;
    no Portico screen has a file column (attachments have their own scoped route), so each answers 404."""
    for endpoint, view_function in list(app.view_functions.items()):
        method = getattr(view_function, "__func__", None)
        if endpoint.endswith(".download") and getattr(method, "__qualname__", "") == "ModelView.download":
            app.view_functions[endpoint] = _no_such_route


def guard_actions(app: Flask) -> None:
    """FAB's action routes (``action/<name>/<pk>``, ``action_post``) answer 500 for a name the view does not
    have or a row id that is no id: an unknown action is 404, a bad ``rowid`` 400."""
    for endpoint, view_function in list(app.view_functions.items()):
        view = getattr(view_function, "__self__", None)
        if view is None or not endpoint.endswith((".action", ".action_post")):
            continue

        @functools.wraps(view_function)
        def checked(*args, _function=view_function, _view=view, **kwargs):
            name = kwargs.get("name") if "name" in kwargs else request.form.get("action")
            if name not in (getattr(_view, "actions", None) or {}):
                abort(404)
            rows = request.form.getlist("rowid") if "name" not in kwargs else [kwargs.get("pk", "")]
            if not all(_number_in(str(row), 1, LARGEST_ID) for row in rows):
                abort(400, "rowid must name rows by their ids.")
            return _function(*args, **kwargs)

        app.view_functions[endpoint] = checked


def register(app: Flask) -> None:
    close_unused_routes(app)
    guard_actions(app)
    proxies = int(app.config.get("PORTICO_TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0, x_prefix=0)
    hsts = bool(app.config.get("SESSION_COOKIE_SECURE"))

    @app.before_request
    def refuse_unstorable_input():
        for value in (request.view_args or {}).values():
            text = str(value)
            if text.isdecimal() and int(text) > LARGEST_ID:
                abort(404)
        if request.args and any(not storable(v) for v in request.args.values()):
            abort(400, "A value in the address contains characters that cannot be stored.")
        for name, value in request.args.items():  # paging: FAB reads any ``page_…`` / ``psize_…`` as a number
            if ("page_" in name and not _number_in(value, 0, LARGEST_PAGE)) or (
                    "psize_" in name and not _number_in(value, 1, LARGEST_PAGE_SIZE)):
                abort(400, f"{name} must be a whole number from {1 if 'psize_' in name else 0} to "
                           f"{LARGEST_PAGE_SIZE if 'psize_' in name else LARGEST_PAGE}.")
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

    def csp_nonce() -> str:
        """This response's script nonce (FAB's ``baselib.get_nonce()`` calls it when it is defined)."""
        if "csp_nonce" not in g:
            g.csp_nonce = secrets.token_urlsafe(18)
        return g.csp_nonce

    app.add_template_global(csp_nonce, "csp_nonce")

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", CSP.format(nonce=csp_nonce()))
            headers.setdefault("X-Frame-Options", "DENY")
        if hsts:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response


def _number_in(text: str, low: int, high: int) -> bool:
    return text.isdecimal() and len(text) <= 19 and low <= int(text) <= high


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


def _nesting(text: str) -> int:
    """How deep ``(`` / ``[`` / ``{`` nest outside quoted strings (Rison's ``'…'`` with ``!`` escapes, JSON's
    ``"…"`` with ``\\`` escapes): a search for "((((" is one level, not forty."""
    depth = deepest = 0
    quote, escaped = None, False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == ("!" if quote == "'" else "\\"):
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def rison_ok(text: str) -> bool:
    """Does ``text`` parse as Rison (or JSON, which FAB takes too), nested at most ``RISON_DEPTH`` levels?"""
    import json

    import prison

    if _nesting(text) > RISON_DEPTH:
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
