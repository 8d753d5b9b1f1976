"""kiosk.security: see docs/architecture.md."""
