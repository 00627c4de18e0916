"""The customer portal under ``/portal/`` (SPEC §7). ``register`` adds its views, none with a menu entry."""
from __future__ import annotations


def register(appbuilder) -> None:
    from . import home

    for view in home.VIEWS:
        appbuilder.add_view_no_menu(view)
