"""kiosk.demo.district: see docs/architecture.md."""
