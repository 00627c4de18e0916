"""A first run that works without configuration (issue 17): links point at the address actually served
(``PORT``), the start page shows the ways in with the shop's name and logo, and there is a favicon."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.settings import absolute, get_settings

REPO = Path(__file__).resolve().parent.parent


def base_url_with(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("PORT", "PORTICO_BASE_URL")}
    clean.update(env)
    code = "import json, config; print(json.dumps(config.Config.PORTICO_BASE_URL))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=clean, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "http://127.0.0.1:5000"),
    ({"PORT": "5077"}, "http://127.0.0.1:5077"),
    ({"PORT": "nonsense"}, "http://127.0.0.1:5000"),
    ({"PORT": "99999"}, "http://127.0.0.1:5000"),
    ({"PORT": "5077", "PORTICO_BASE_URL": "https://service.example.com/"}, "https://service.example.com"),
])
def test_the_base_url_defaults_to_the_served_port(env, expected):
    assert base_url_with(**env) == expected


def test_links_use_the_configured_address_unless_the_settings_name_one(db, app, monkeypatch):
    monkeypatch.setitem(app.config, "PORTICO_BASE_URL", "http://127.0.0.1:5077")
    assert absolute("/portal/login") == "http://127.0.0.1:5077/portal/login"
    get_settings().base_url = "https://shop.example.com/"
    assert absolute("portal/login") == "https://shop.example.com/portal/login"


def test_the_start_page_shows_the_ways_in(db, client):
    shop = get_settings()
    shop.shop_name = "Werkstatt Kiel"
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "Werkstatt Kiel" in page
    assert 'href="/portal/login"' in page and 'href="/portal/request"' in page and 'href="/login/"' in page
    assert 'rel="icon" href="/favicon.ico"' in page


def test_the_start_page_shows_the_logo(db, client):
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
           b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
    shop = get_settings()
    shop.logo, shop.logo_content_type = png, "image/png"
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert 'class="shop-logo" src="data:image/png;base64,' in page


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert client.get("/static/favicon.svg").status_code == 200
