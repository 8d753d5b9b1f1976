"""kiosk.domain.cases: see docs/architecture.md."""
