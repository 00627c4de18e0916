"""Entry point: ``flask --app run <command>`` and the WSGI app for gunicorn (``run:app``)."""
from app import create_app

app = create_app()

if __name__ == "__main__":  # pragma: no cover
    import os

    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
