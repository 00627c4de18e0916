"""The Portico application factory."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from .extensions import csrf, db, migrate

log = logging.getLogger(__name__)
MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config: object | str | None = None, **overrides) -> Flask:
    configure_logging()
    app = Flask(__name__, instance_path=str(Path(__file__).resolve().parent.parent / "instance"))
    app.config.from_object(config or "config.Config")
    app.config.update(overrides)
    register_extensions(app)
    with app.app_context():
        register_appbuilder(app)
        register_error_handlers(app)
        register_template_helpers(app)
    register_cli(app)
    register_web(app)
    return app


def configure_logging() -> None:
    """Log to stderr, JSON lines with the request id (``LOG_FORMAT=text`` for development: app/ops/logs.py);
    keep Flask-AppBuilder's start-up chatter out of it."""
    from .ops import logs

    logs.configure()
    # "Filter type not supported for column ..." for every column FAB cannot filter on (its own APIs too).
    logging.getLogger("flask_appbuilder.models.filters").setLevel(logging.ERROR)


def register_extensions(app: Flask) -> None:
    # Models must be imported before Alembic or FAB look at the metadata.
    from . import models  # noqa: F401
    from .models import guards

    guards.install()  # history is never deleted, closed documents' lines never change (every session)
    db.init_app(app)
    csrf.init_app(app)  # before AppBuilder, so FAB exempts its JWT APIs
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)


def register_appbuilder(app: Flask) -> None:
    from .api import register_apis
    from .security import PorticoSecurityManager, limit_api_login, sync_security
    from .views import register_views
    from .views.brand import PorticoAppBuilder

    appbuilder = PorticoAppBuilder(security_manager_class=PorticoSecurityManager)  # the shop's name and logo
    appbuilder.init_app(app, db.session)
    register_views(appbuilder)
    register_apis(appbuilder)
    limit_api_login(app, appbuilder)
    if app.config.get("PORTICO_SYNC_SECURITY_ON_START"):
        sync_security(appbuilder, quiet=True)


def register_error_handlers(app: Flask) -> None:
    from .views.errors import register as register_errors

    register_errors(app)


def register_template_helpers(app: Flask) -> None:
    from .views.fab_templates import register as register_fab_templates
    from .views.filters import register as register_filters

    register_filters(app)
    register_fab_templates(app)


def register_web(app: Flask) -> None:
    from .ops import register as register_ops
    from .web import register

    register(app)
    register_ops(app)  # request id and log, /healthz, /readyz, /metrics


def register_cli(app: Flask) -> None:
    from .cli import register as register_commands

    register_commands(app)
