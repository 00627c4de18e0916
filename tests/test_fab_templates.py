"""FAB's templates patched where they load (app/views/fab_templates.py): each patch still finds its text."""
from __future__ import annotations

import pytest
from jinja2 import DictLoader, Environment

from app.views.fab_templates import PATCHES, PatchingLoader, TemplatePatchError


@pytest.mark.parametrize("name", sorted(PATCHES))
def test_every_patch_applies_to_the_installed_fab(app, name):
    source, _, _ = app.jinja_env.loader.get_source(app.jinja_env, name)
    for _old, new in PATCHES[name]:
        assert new in source


def test_a_fab_without_the_text_fails_loudly():
    env = Environment(loader=PatchingLoader(DictLoader({"appbuilder/init.html": "<html class='x'>"})))
    with pytest.raises(TemplatePatchError, match="no longer contains"):
        env.get_template("appbuilder/init.html")


def test_a_staff_page_has_its_language(client, login_as):
    from tests.factories import make_user

    login_as(make_user("Advisor"))
    assert '<html lang="en' in client.get("/customerview/list/").get_data(as_text=True)
