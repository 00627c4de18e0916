"""Portico's benchmark harness: ``bench.generate`` fills a database with a large shop, ``bench.run``
times the staff list pages against a bare Flask-AppBuilder list. See ``bench/README.md``."""
