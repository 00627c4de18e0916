"""Extensions that live at module level. Only objects without per-app state belong here.

The AppBuilder itself is created inside ``create_app`` (a module-level one would register no views in a
second app, e.g. every test's app); reach it through ``current_app.appbuilder``. Rate limiting uses the
security manager's own Flask-Limiter (``appbuilder.sm.limiter``), configured by ``RATELIMIT_*``.
"""
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

db = get_sqla_class()()
csrf = CSRFProtect()
migrate = Migrate()
