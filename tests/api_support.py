"""Helpers for the REST API tests: log in through the real JWT endpoint and call the API as that user."""
from __future__ import annotations

import datetime as dt
import json

from tests.factories import PASSWORD


def login_token(client, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/security/login",
                           json={"username": username, "password": password, "provider": "db"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


class Api:
    """``api.get("/customer/")`` etc. under /api/v1 with the user's bearer token."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def headers(self, extra=None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def url(self, path: str) -> str:
        return path if path.startswith("/api/") else "/api/v1" + path

    def get(self, path, q=None, **kwargs):
        query = {"q": json.dumps(q)} if q is not None else kwargs.pop("query_string", None)
        return self.client.get(self.url(path), headers=self.headers(kwargs.pop("headers", None)),
                               query_string=query, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.client.post(self.url(path), json=json, headers=self.headers(kwargs.pop("headers", None)), **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.client.put(self.url(path), json=json, headers=self.headers(kwargs.pop("headers", None)), **kwargs)

    def delete(self, path, **kwargs):
        return self.client.delete(self.url(path), headers=self.headers(kwargs.pop("headers", None)), **kwargs)


def api_as(client, user) -> Api:
    return Api(client, login_token(client, user.username))


def day_after_tomorrow() -> str:
    return (dt.date.today() + dt.timedelta(days=2)).isoformat()
