"""kiosk.app.shell: see docs/architecture.md."""
