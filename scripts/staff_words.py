"""Write app/views/staff_words.py: the staff screens' words (``app.views.words``), marked for pybabel.

Run from the repository root before ``pybabel extract``: venv/bin/python scripts/staff_words.py
"""
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.views import words  # noqa: E402
from config import TestConfig  # noqa: E402

create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tempfile.mkdtemp()}/words.db",
           PORTICO_SYNC_SECURITY_ON_START=False)
(ROOT / "app" / "views" / "staff_words.py").write_text(words.source(), encoding="utf-8")
print(f"app/views/staff_words.py: {len(words.SEEN)} words")
