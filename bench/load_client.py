"""The load test's clients: logins, the request mix, and what each request cost.

Each client is a thread with its own address (``X-Forwarded-For`` from 198.18.0.0/15, the range set aside
for benchmarks; the server trusts one proxy, as behind the reverse proxy of docs/deploy.md) and three
``requests.Session`` logins made as a browser makes them: a customer's and a reseller's portal session
(the login link's "Continue" form) and the ``bench`` staff user's (FAB's ``/login/`` form), plus the
staff API key every client shares. Then it picks request kinds from ``MIX`` by weight until the run's
deadline or its request budget ends. A request counts as an error when it fails, times out or answers
another status than its kind expects (a redirect to a login page included).
"""
from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field

import requests

from .generate import BENCH_PASSWORD, BENCH_USER
from .load_shop import Account, Shop

TIMEOUT = 60  # seconds for one request: longer than any page should take, short of gunicorn's worker timeout
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
STAFF_LISTS = ("/workorderview/list/", "/customerview/list/", "/invoiceview/list/?_flt_0_status=open",
               "/servicerequestview/list/")
API_LISTS = ("work_order", "invoice", "customer", "service_request")
PORTAL_TABS = ("new", "at_location", "completed")


class LoginFailed(RuntimeError):
    pass


@dataclass
class Budget:
    """At most ``limit`` requests, none after ``deadline`` (``time.monotonic``) or once stopped."""

    limit: int
    deadline: float
    stop: threading.Event = field(default_factory=threading.Event)
    taken: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        if self.stop.is_set() or time.monotonic() >= self.deadline:
            return False
        with self._lock:
            if self.taken >= self.limit:
                return False
            self.taken += 1
            return True


@dataclass
class Sample:
    kind: str
    seconds: float
    status: int  # 0: no answer (connection error or timeout)
    error: str | None = None


def client_address(n: int) -> str:
    return f"198.18.{n // 250}.{n % 250 + 1}"


class Client:
    """One virtual user: its sessions, its share of the shop's ids, its own random stream."""

    def __init__(self, base: str, shop: Shop, n: int, api_key: str, seed: int = 42):
        self.base, self.shop, self.n = base, shop, n
        self.rng = random.Random(seed * 1000 + n)
        self.headers = {"X-Forwarded-For": client_address(n)}
        self.customer = shop.customers[n % len(shop.customers)]
        self.reseller = shop.resellers[n % len(shop.resellers)]
        self.portal = {acc.customer_id: self._session() for acc in (self.customer, self.reseller)}
        self.staff = self._session()
        self.api = self._session()
        self.api.headers["Authorization"] = f"Bearer {api_key}"

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.headers.update(self.headers)
        return session

    # --- logging in and out (not measured) --------------------------------------------------------------

    def _form(self, session: requests.Session, path: str, data: dict) -> requests.Response:
        page = session.get(self.base + path, timeout=TIMEOUT)
        token = CSRF.search(page.text)
        if page.status_code != 200 or token is None:
            raise LoginFailed(f"{path}: HTTP {page.status_code}" + ("" if token else ", no form"))
        return session.post(self.base + path, data={**data, "csrf_token": token.group(1)}, allow_redirects=False,
                            timeout=TIMEOUT)

    def login(self) -> None:
        for account in (self.customer, self.reseller):
            answer = self._form(self.portal[account.customer_id], account.link_path, {})
            if answer.status_code != 303:
                raise LoginFailed(f"portal login of customer {account.customer_id}: HTTP {answer.status_code}")
        answer = self._form(self.staff, "/login/", {"username": BENCH_USER, "password": BENCH_PASSWORD})
        if answer.status_code != 302 or "/login" in answer.headers.get("Location", ""):
            raise LoginFailed(f"staff login as {BENCH_USER}: HTTP {answer.status_code}")

    def logout(self) -> None:
        """End the sessions (the portal's logout form, FAB's logout link); failures do not matter here."""
        for session in self.portal.values():
            try:
                page = session.get(self.base + "/portal/", timeout=10)
                token = CSRF.search(page.text)
                if token:
                    session.post(self.base + "/portal/logout", data={"csrf_token": token.group(1)},
                                 allow_redirects=False, timeout=10)
            except requests.RequestException:
                pass
        try:
            self.staff.get(self.base + "/logout/", allow_redirects=False, timeout=10)
        except requests.RequestException:
            pass
        for session in (*self.portal.values(), self.staff, self.api):
            session.close()

    # --- the request kinds: (session, method, path, body, expected statuses) -----------------------------

    def _account(self) -> Account:
        return self.customer if self.rng.random() < 0.5 else self.reseller

    def _own(self, account: Account) -> int:
        return self.rng.choice(account.orders)

    def portal_dashboard(self):
        account = self._account()
        return self.portal[account.customer_id], "GET", "/portal/", None, (200,)

    def portal_orders(self):
        account = self._account()
        return self.portal[account.customer_id], "GET", f"/portal/orders?tab={self.rng.choice(PORTAL_TABS)}", \
            None, (200,)

    def portal_order(self):
        account = self._account()
        return self.portal[account.customer_id], "GET", f"/portal/orders/{self._own(account)}", None, (200,)

    def portal_shipments(self):
        return self.portal[self.reseller.customer_id], "GET", "/portal/shipments/", None, (200,)

    def portal_pdf(self):
        account = self._account()
        return self.portal[account.customer_id], "GET", f"/portal/orders/{self._own(account)}/pdf", None, (200,)

    def staff_list(self):
        return self.staff, "GET", self.rng.choice(STAFF_LISTS), None, (200,)

    def staff_search(self):
        term = requests.utils.quote(self.rng.choice(self.shop.terms))
        return self.staff, "GET", f"/workorderview/list/?_flt_0_number={term}", None, (200,)

    def api_list(self):
        resource = self.rng.choice(API_LISTS)
        query = f"(order_column:id,order_direction:desc,page:{self.rng.randrange(20)},page_size:25)"
        return self.api, "GET", f"/api/v1/{resource}/?q={query}", None, (200,)

    def api_item(self):
        return self.api, "GET", f"/api/v1/work_order/{self.rng.choice(self.shop.orders)}", None, (200,)

    def api_note(self):
        """A write through an action: an internal note on an open order (staff only, nobody is mailed)."""
        order = self.rng.choice(self.shop.open_orders)
        body = {"text": f"Load test note from client {self.n}", "public": False}
        return self.api, "POST", f"/api/v1/work_order/{order}/messages", body, (200,)

    def api_pdf(self):
        return self.api, "GET", f"/api/v1/work_order/{self.rng.choice(self.shop.orders)}/pdf", None, (200,)

    def call(self, kind: str) -> Sample:
        session, method, path, body, expected = getattr(self, kind)()
        started = time.perf_counter()
        try:
            answer = session.request(method, self.base + path, json=body, allow_redirects=False, timeout=TIMEOUT)
            answer.content  # noqa: B018 - read the whole body: a download is only done when its last byte is
        except requests.RequestException as exc:
            return Sample(kind, time.perf_counter() - started, 0, type(exc).__name__)
        elapsed = time.perf_counter() - started
        error = None if answer.status_code in expected else f"HTTP {answer.status_code} {method} {path.split('?')[0]}"
        if error is None and kind.endswith("_pdf") and not answer.content.startswith(b"%PDF-"):
            error = f"not a PDF: {method} {path}"
        return Sample(kind, elapsed, answer.status_code, error)

    def run(self, budget: Budget, out: list[Sample], mix: dict[str, int]) -> None:
        kinds, weights = list(mix), list(mix.values())
        while budget.take():
            out.append(self.call(self.rng.choices(kinds, weights)[0]))


#: Request kinds and their weights: what a shop's day looks like from the server (portal visitors, the
#: office's lists and search, machine clients reading and writing, documents downloaded).
MIX = {
    "portal_dashboard": 12, "portal_orders": 12, "portal_order": 8, "portal_shipments": 4, "portal_pdf": 4,
    "staff_list": 14, "staff_search": 8,
    "api_list": 12, "api_item": 10, "api_note": 6, "api_pdf": 3,
}
