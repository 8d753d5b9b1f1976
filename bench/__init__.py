"""Benchmarks: `make bench` runs every bench_*.py module's main(), each in a process of its own
(bench/__main__.py)."""

import os

# Every benchmark runs the app as `kiosk` runs it, at 120 frames a second. Textual reads its
# frame rate once, when it is first imported, and kiosk/app/shell.py sets it just before
# importing Textual; but a benchmark that imports Textual first paints at Textual's default
# 60 (found 2026-12-05 when every module shared one process: after the audit, browser, cases
# and encryption benchmarks, the search keystroke's p95 went from 29 to 50 ms; with this line,
# 29 ms).
os.environ.setdefault("TEXTUAL_FPS", "120")
