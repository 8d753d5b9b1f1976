"""Grid Kiosk: offline-first case work for community grid workers (网格员)."""

__version__ = "0.1.0"
