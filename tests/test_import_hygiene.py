"""db/ never imports Textual (the data layer knows nothing of the interface)."""

import subprocess
import sys


def test_db_does_not_import_textual():
    code = (
        "import sys, importlib, pkgutil, db, db.migrations\n"
        "for m in pkgutil.walk_packages(db.__path__, 'db.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n == 'textual' or n.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_start_does_not_import_textual():
    """Subcommands stay quick: only the interface pulls in Textual."""
    code = (
        "import sys\n"
        "from kiosk.cli.main import build_parser\n"
        "build_parser()\n"
        "print(any(n.startswith('textual') for n in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
