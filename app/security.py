"""Roles of SPEC §1, defined in code and synced into the database at start-up.

Each role is a list of ``(view pattern, permission pattern)`` pairs, matched in full (``re.fullmatch``,
so ``Estimates`` never grants ``EstimatesArchive``) against the permission names that the registered views
declare through ``class_permission_name``. Menu entries follow: a role sees a menu item when it may use
the view behind it. ``Admin`` gets everything. Whatever a role held that is no longer defined here is
taken away on the next sync, so the code is the whole truth.
"""
from __future__ import annotations

import datetime as dt
import logging
import re

from flask import current_app, g, has_request_context
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db

log = logging.getLogger(__name__)

ANY = r"[a-z_]+"
READ = r"can_list|can_show|can_get|can_info"

#: Permission view names (``class_permission_name``) the staff screens and APIs use.
SHOP_DATA = (r"Customers|ServiceRequests|BookingBoard|Calendar|Estimates|DisputeReview|WorkOrders|ServiceBoard"
             r"|Invoices|Shipments")
MANAGER_ONLY = r"Catalog|ShopSettings|Audit|Outbox|Reports|ManagerDashboard"

#: The REST API (app/api): one permission name per resource. Its methods: can_get (list, show, sub-lists,
#: documents), can_info, can_post, can_put, can_delete, can_action (POST /<id>/<action>: the state machines
#: decide who may take which action) and can_export (the orders CSV). OpenApi is /api/v1/_openapi,
#: SwaggerView the Swagger UI (/swagger/v1), ApiKey FAB's self-service API keys for machine clients.
API_SHOP_DATA = r"ApiCustomers|ApiUnits|ApiServiceRequests|ApiEstimates|ApiWorkOrders|ApiInvoices|ApiShipments"
API_STAFF = [(API_SHOP_DATA, ANY), ("OpenApi", "can_get"), ("SwaggerView", "can_show"), ("ApiKey", ANY)]
API_CUSTOMER = [
    ("ApiCustomers", r"can_get|can_info"),
    ("ApiUnits", r"can_get|can_info|can_post|can_put"),
    ("ApiServiceRequests", r"can_get|can_info|can_post|can_action"),
    ("ApiEstimates", r"can_get|can_info|can_action"),
    ("ApiWorkOrders", r"can_get|can_info|can_post|can_action"),
    ("ApiInvoices", r"can_get|can_info|can_action"),
    ("OpenApi", "can_get"),
    ("ApiKey", ANY),
]

#: FAB's "Your profile" menu: one's own details, their edit form and one's own password (not other users').
OWN_PROFILE = [("PorticoUserView", r"can_userinfo|userinfoedit|resetmypassword"),
               (r"ResetMyPasswordView|UserInfoEditView", r"can_this_form_get|can_this_form_post")]

ROLE_DEFINITIONS: dict[str, list[tuple[str, str]]] = {
    "Manager": [
        (SHOP_DATA, ANY),
        (MANAGER_ONLY, ANY),
        ("TechnicianBoard", READ),
        ("Notifications", ANY),
        ("StaffSearch", ANY),
        *API_STAFF,
        ("ApiReports", ANY),
        *OWN_PROFILE,
    ],
    "Advisor": [
        (SHOP_DATA, ANY),
        ("Catalog", READ),
        ("Audit", READ),
        ("Notifications", ANY),
        ("StaffSearch", ANY),
        *API_STAFF,
        *OWN_PROFILE,
    ],
    "Technician": [
        ("TechnicianBoard", ANY),
        ("Calendar", ANY),  # their own work orders and their own feed
        ("Notifications", ANY),
        ("StaffSearch", ANY),  # their own and unassigned work orders only (services.global_search)
        ("ApiWorkOrders", r"can_get|can_info|can_action"),  # its own and unassigned orders, no prices
        ("OpenApi", "can_get"),
        *OWN_PROFILE,
    ],
    "Customer": [
        ("Portal", ANY),
        *API_CUSTOMER,
    ],
    "Reseller": [
        ("Portal", ANY),
        ("PortalReseller", ANY),
        *API_CUSTOMER,
        ("ApiShipments", r"can_get|can_info|can_post|can_action"),
        ("ApiWorkOrders", "can_export"),
    ],
}
ROLE_NAMES = ("Admin", *ROLE_DEFINITIONS)


class PorticoSecurityManager(SecurityManager):
    """FAB's SQLAlchemy security manager, with each role set's permissions kept across requests.

    FAB asks the database once per permission check: once per menu entry on every page (about 40
    statements a page). Here every (permission, view) pair of the user's roles is read in one query and
    kept (``app.ops.permission_cache``) until a role or permission changes; a page's checks cost no SQL.
    """

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        from .ops.permission_cache import PermissionCache, listen

        self.permission_cache = PermissionCache()
        listen()

    def create_jwt_manager(self, app):
        """FAB's JWT manager, refusing tokens issued before the user's credentials were revoked (a password
        reset or change, an archived or locked login)."""
        manager = super().create_jwt_manager(app)

        @manager.token_in_blocklist_loader
        def _revoked(_header, payload) -> bool:
            from .services.portal_auth import issued_before_revocation

            issued = dt.datetime.fromtimestamp(payload.get("iat", 0), dt.UTC).replace(tzinfo=None)
            return issued_before_revocation(payload.get("sub"), issued)

        return manager

    def reset_password(self, userid, password):
        """Security → Users "Reset password" and a staff user's own: every other credential ends."""
        super().reset_password(userid, password)
        user = self.get_user_by_id(userid)
        if user is not None:
            from .services.portal_auth import revoke_credentials

            revoke_credentials(user)
            db.session.commit()

    @property
    def userinfoeditview(self):
        """Your profile → Edit user information, with the staff user's language (``views.users``)."""
        from .views.users import PorticoUserInfoEditView

        return PorticoUserInfoEditView

    @property
    def userdbmodelview(self):
        """Security → Users archives logins that history names instead of deleting them."""
        from .views.users import PorticoUserView

        return PorticoUserView

    @property
    def groupmodelview(self):
        """Security → Groups, its columns labelled in the reader's language (``views.users``)."""
        from .views.users import PorticoGroupView

        return PorticoGroupView

    def exist_permission_on_roles(self, view_name: str, permission_name: str, role_ids: list[int]) -> bool:
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        return (permission_name, view_name) in self.permission_cache.pairs(role_ids, self._role_permissions)

    def is_item_public(self, permission_name, view_name) -> bool:
        """FAB loads the Public role and its permissions on every API request (two queries); kept here."""
        if not has_request_context():
            return super().is_item_public(permission_name, view_name)
        return (permission_name, view_name) in self.permission_cache.pairs(("public",), self._public_permissions)

    def _public_permissions(self, _key) -> set[tuple[str, str]]:
        return {(pv.permission.name, pv.view_menu.name) for pv in self.get_public_permissions()
                if pv.permission is not None and pv.view_menu is not None}

    def _role_permissions(self, role_ids: tuple[int, ...]) -> set[tuple[str, str]]:
        pv, link = self.permissionview_model, assoc_permissionview_role
        rows = (
            self.session.query(self.permission_model.name, self.viewmenu_model.name)
            .select_from(pv)
            .join(link, link.c.permission_view_id == pv.id)
            .join(self.permission_model, pv.permission)
            .join(self.viewmenu_model, pv.view_menu)
            .filter(link.c.role_id.in_(role_ids))
        )
        return {(perm, view) for perm, view in rows}

    def auth_user_db(self, username, password):
        """FAB's password check, plus:

        - a portal user of a locked customer account cannot log in (web form, API or portal);
        - after ``PORTICO_ACCOUNT_LOCKOUT_FAILURES`` wrong passwords for one account (FAB counts them in
          ``fail_login_count``), that account takes no password at all — the right one neither — until
          ``PORTICO_ACCOUNT_LOCKOUT_MINUTES`` pass without another attempt; its holder is told by e-mail once.

        ``g.portico_login_refused`` tells the portal's password page why."""
        account = self.find_user(username=username) or self.find_user(email=username) if username else None
        if account is not None and self._throttled(account):
            self.update_user_auth_stat(account, False)  # each attempt while throttled extends the window
            g.portico_login_refused = "throttled"
            _count_login_failure("throttled")
            log.info("Login refused for %s: too many failed attempts", account.username)
            return None
        user = super().auth_user_db(username, password)
        if user is None:
            _count_login_failure("password")
        if user is None and account is not None and account.fail_login_count == self._lockout_failures():
            self._tell_throttled(account)
        if user is not None:
            from .services.portal_auth import is_locked

            if is_locked(user):
                g.portico_login_refused = "locked"
                return None
        return user

    @staticmethod
    def _lockout_failures() -> int:
        return int(current_app.config.get("PORTICO_ACCOUNT_LOCKOUT_FAILURES", 10))

    def _throttled(self, account) -> bool:
        minutes = int(current_app.config.get("PORTICO_ACCOUNT_LOCKOUT_MINUTES", 15))
        last_change = account.changed_on or dt.datetime.min
        return ((account.fail_login_count or 0) >= self._lockout_failures()
                and last_change > dt.datetime.now() - dt.timedelta(minutes=minutes))

    def _tell_throttled(self, account) -> None:
        if not account.email:
            return
        from .services.notify import queue_email

        minutes = int(current_app.config.get("PORTICO_ACCOUNT_LOCKOUT_MINUTES", 15))
        queue_email(account.email, "Too many failed logins to your account",
                    f"Someone tried to log in to your account {account.username} with a wrong password "
                    f"{account.fail_login_count} times. For the next {minutes} minutes no password is taken, "
                    "the right one neither. If it was not you, tell the shop.", event="security.throttled")
        self.session.commit()


def _count_login_failure(form: str) -> None:
    """``portico_login_failures_total`` (app/ops/metrics.py), when prometheus_client is installed."""
    try:
        from .ops.metrics import count_login_failure
    except ImportError:
        return
    count_login_failure(form)


def _grants(role: str, view_name: str, permission_name: str) -> bool:
    return any(
        re.fullmatch(view_re, view_name) and re.fullmatch(perm_re, permission_name)
        for view_re, perm_re in ROLE_DEFINITIONS.get(role, [])
    )


def schema_ready() -> bool:
    try:
        return "ab_permission_view" in inspect(db.engine).get_table_names()
    except SQLAlchemyError:
        return False


def declared_permissions(appbuilder) -> set[tuple[str, str]]:
    """Every ``(permission, view name)`` pair the registered views and menu entries declare.

    Several views may share one ``class_permission_name`` (a list view and a read-only one, say); the name
    gets the union of their permissions. FAB's own ``add_permissions`` adds and removes them view by view
    and commits each one, which is slow and makes shared names flicker.
    """
    pairs = set()
    for view in appbuilder.baseviews:
        pairs.update((perm, view.class_permission_name) for perm in (view.base_permissions or []))
    pairs.update(("menu_access", item) for item in appbuilder.menu.get_flat_name_list() if item != "-")
    return pairs


def _ensure_permissions(sm, wanted: set[tuple[str, str]]) -> list:
    """Create the missing permissions, view names and pairs in the current transaction; return all pairs."""
    session = db.session
    permissions = {p.name: p for p in session.query(sm.permission_model)}
    view_menus = {v.name: v for v in session.query(sm.viewmenu_model)}
    pairs = {(pv.permission.name, pv.view_menu.name): pv for pv in session.query(sm.permissionview_model)
             if pv.permission is not None and pv.view_menu is not None}
    for perm_name, view_name in sorted(wanted - pairs.keys()):
        if perm_name not in permissions:
            permissions[perm_name] = sm.permission_model(name=perm_name)
            session.add(permissions[perm_name])
        if view_name not in view_menus:
            view_menus[view_name] = sm.viewmenu_model(name=view_name)
            session.add(view_menus[view_name])
        pair = sm.permissionview_model(permission=permissions[perm_name], view_menu=view_menus[view_name])
        session.add(pair)
        pairs[(perm_name, view_name)] = pair
    session.flush()
    return list(pairs.values())


def _role(sm, name: str):
    role = sm.find_role(name)
    if role is None:
        role = sm.role_model(name=name)
        db.session.add(role)
    return role


def sync_security(appbuilder, quiet: bool = False) -> bool:
    """Create every view's permissions and set each role's permissions to exactly its definition.

    Idempotent and cheap when nothing changed (a few queries, no writes), so every start-up runs it.
    """
    if not schema_ready():
        if not quiet:
            log.warning("Security tables missing: run 'flask --app run db upgrade' first.")
        return False
    sm = appbuilder.sm
    session = db.session
    try:
        all_pvms = _ensure_permissions(sm, declared_permissions(appbuilder))
        _role(sm, sm.auth_role_public)
        _set_permissions(_role(sm, sm.auth_role_admin), all_pvms)
        menu_views = getattr(appbuilder, "portico_menu", [])
        for role_name in ROLE_DEFINITIONS:
            wanted = [pvm for pvm in all_pvms
                      if pvm.permission.name != "menu_access"
                      and _grants(role_name, pvm.view_menu.name, pvm.permission.name)]
            granted_views = {pvm.view_menu.name for pvm in wanted}
            menus = set()
            for item_name, category, view_name in menu_views:
                if view_name in granted_views:
                    menus.update(filter(None, (item_name, category)))
            wanted += [pvm for pvm in all_pvms if pvm.permission.name == "menu_access" and pvm.view_menu.name in menus]
            _set_permissions(_role(sm, role_name), wanted)
        session.commit()
        return True
    except SQLAlchemyError:
        session.rollback()
        if not quiet:
            raise
        log.exception("Could not sync roles and permissions (another process may be doing it)")
        return False


def _set_permissions(role, wanted: list) -> None:
    """Assign only when different, so an unchanged role writes nothing."""
    if {p.id for p in role.permissions} != {p.id for p in wanted}:
        role.permissions = sorted(wanted, key=lambda p: p.id)


def limit_api_login(app, appbuilder) -> None:
    """FAB limits ``/login/`` only; put the same kind of limit on ``POST /api/v1/security/login``."""
    from flask_appbuilder.security.api import SecurityApi

    for view in appbuilder.baseviews:
        if isinstance(view, SecurityApi) and getattr(view, "blueprint", None) is not None:
            appbuilder.sm.limiter.limit(app.config["API_LOGIN_RATE_LIMIT"], methods=["POST"])(view.blueprint)


def demo_password() -> str:
    return current_app.config["PORTICO_DEMO_PASSWORD"]
