"""db.case_fold: see docs/architecture.md."""
