"""The shop's own name and logo on every staff page (issue 15, item 1).

``PorticoAppBuilder`` answers FAB's ``app_name`` (the navbar brand, the page titles) with the shop's name
from Settings and ``app_icon`` with the shop's logo when one is uploaded; ``ShopLogoView`` serves that logo
at ``/shop/logo`` (public: it is printed on every document anyway), cached by the browser until the settings
change.
"""
from __future__ import annotations

from flask import current_app, g, has_request_context, make_response, request, url_for
from flask_appbuilder import AppBuilder, BaseView, expose

from ..core.settings import get_settings
from ..documents.codes import LOGO_TYPES


def _settings():
    """The settings row for the brand, or None (no request, no table yet). A page drawn after a rollback (a
    refused form) finds the request's cached row detached: it is read again."""
    if not has_request_context():
        return None
    for _attempt in range(2):
        try:
            settings = get_settings()
            settings.shop_name  # noqa: B018 - touch it: a detached, expired row raises here
            return settings
        except Exception:  # noqa: BLE001 - no settings table yet, or a stale row: read it again, else FAB's own
            g.pop("_portico_settings", None)
    return None


class PorticoAppBuilder(AppBuilder):
    @property
    def app_name(self):
        settings = _settings()
        return (settings.shop_name if settings is not None and settings.shop_name
                else current_app.config.get("APP_NAME", "Portico"))

    @property
    def app_icon(self):
        settings = _settings()
        if settings is not None and settings.logo and _logo_type(settings):
            return url_for("ShopLogoView.logo", v=_version(settings))
        return current_app.config.get("APP_ICON", "")


def _logo_type(settings) -> str | None:
    mime = (settings.logo_content_type or "").split(";")[0].strip().lower()
    return mime if mime in LOGO_TYPES else None


def _version(settings) -> str:
    return str(int(settings.updated_at.timestamp())) if settings.updated_at else "0"


class ShopLogoView(BaseView):
    route_base = "/shop"
    default_view = "logo"

    @expose("/logo")
    def logo(self):
        settings = get_settings()
        mime = _logo_type(settings) if settings.logo else None
        if mime is None:
            return make_response("", 404)
        etag = f'"logo-{_version(settings)}-{len(settings.logo)}"'
        if request.headers.get("If-None-Match") == etag:
            return make_response("", 304)
        response = make_response(bytes(settings.logo))
        response.headers["Content-Type"] = mime
        response.headers["ETag"] = etag
        response.headers["Cache-Control"] = "public, max-age=3600"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if mime == "image/svg+xml":  # an SVG is a document: no script of its own runs from this address
            response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
        return response
