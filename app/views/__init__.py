"""Staff screens. ``register_views`` adds every view to the AppBuilder, grouped in the shop's menu."""
from __future__ import annotations

from .words import translate_actions, translate_view, word


def add(appbuilder, view, name: str, *, category: str = "", icon: str = "", category_icon: str = "",
        label: str | None = None):
    """``appbuilder.add_view`` that also records which permission name the menu entry stands for,
    so ``security.sync_security`` can show each role exactly the menu entries it may open. The menu's
    names and the view's own words are shown in the reader's language (``views.words``)."""
    translate_view(view)
    instance = appbuilder.add_view(view, name, icon=icon, label=word(label or name), category=category,
                                   category_icon=category_icon, category_label=word(category) if category else "")
    translate_actions(instance)
    if not hasattr(appbuilder, "portico_menu"):
        appbuilder.portico_menu = []
    appbuilder.portico_menu.append((name, category, instance.class_permission_name))
    return instance


def _add_no_menu(appbuilder):
    """``appbuilder.add_view_no_menu`` with the view's words in the reader's language."""
    original = appbuilder.add_view_no_menu

    def add_view_no_menu(view, *args, **kwargs):
        translate_view(view)
        instance = original(view, *args, **kwargs)
        translate_actions(instance)
        return instance

    return original, add_view_no_menu


def register_views(appbuilder) -> None:
    from . import brand, calendar, pickers, portal, search, staff
    from .base import dash_for_empty_choices

    dash_for_empty_choices()
    original, appbuilder.add_view_no_menu = _add_no_menu(appbuilder)
    try:
        staff.register(appbuilder)
        calendar.register(appbuilder, add)  # Service desk → Calendar (after the booking board's area)
    finally:
        del appbuilder.add_view_no_menu  # back to the class's own method
    portal.register(appbuilder)
    search.register(appbuilder)  # the navbar's search box (StaffSearch)
    pickers.register(appbuilder)  # the options of dependent pickers (staff-pickers.js)
    appbuilder.add_view_no_menu(brand.ShopLogoView)  # /shop/logo: the navbar's brand
