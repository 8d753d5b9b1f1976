"""Photos as evidence: prepared without metadata (prepare.py), stored by content (db/photos.py)."""
