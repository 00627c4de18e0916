"""Placeholder: the staff ModelViews are registered here."""


def register(appbuilder) -> None:
    return None
