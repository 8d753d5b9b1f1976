"""The hub's storage: base.py (what every store does, in shared SQL), sqlite.py, postgres.py,
and open.py (which store a URL names)."""
