"""The test suite hashes passwords cheaply (TestConfig); production must not."""
from __future__ import annotations

from werkzeug.security import check_password_hash

from config import Config, TestConfig


def test_production_hashes_passwords_with_scrypt(app, monkeypatch):
    from tests.factories import PASSWORD, make_user

    assert TestConfig.FAB_PASSWORD_HASH_METHOD.startswith("pbkdf2")
    production = getattr(Config, "FAB_PASSWORD_HASH_METHOD", "scrypt")
    assert production.startswith("scrypt")
    monkeypatch.setitem(app.config, "FAB_PASSWORD_HASH_METHOD", production)
    user = make_user("Advisor")
    assert user.password.startswith("scrypt:")
    assert check_password_hash(user.password, PASSWORD)
