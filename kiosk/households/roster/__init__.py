"""kiosk.households.roster: see docs/architecture.md."""
