"""Subcommands of ``kiosk``: one module per group, discovered by :func:`kiosk.cli.main.build_parser`."""
