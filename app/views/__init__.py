"""Staff screens. ``register_views`` adds every view to the AppBuilder, grouped in the shop's menu."""
from __future__ import annotations


def add(appbuilder, view, name: str, *, category: str = "", icon: str = "", category_icon: str = "",
        label: str | None = None):
    """``appbuilder.add_view`` that also records which permission name the menu entry stands for,
    so ``security.sync_security`` can show each role exactly the menu entries it may open."""
    instance = appbuilder.add_view(view, name, icon=icon, label=label or name, category=category,
                                   category_icon=category_icon)
    if not hasattr(appbuilder, "portico_menu"):
        appbuilder.portico_menu = []
    appbuilder.portico_menu.append((name, category, instance.class_permission_name))
    return instance


def register_views(appbuilder) -> None:
    from . import calendar, pickers, portal, search, staff
    from .base import dash_for_empty_choices

    dash_for_empty_choices()
    staff.register(appbuilder)
    calendar.register(appbuilder, add)  # Service desk → Calendar (after the booking board's area)
    portal.register(appbuilder)
    search.register(appbuilder)  # the navbar's search box (StaffSearch)
    pickers.register(appbuilder)  # the options of dependent pickers (staff-pickers.js)
