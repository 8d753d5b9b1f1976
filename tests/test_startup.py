"""``kiosk`` start-up: the interface's own options are parsed without the command modules,
and the garbage collector held while starting is always let go."""

import gc
import subprocess
import sys

import pytest

from kiosk.cli.main import main, opens_interface


@pytest.mark.parametrize(
    ("argv", "interface"),
    [
        ([], True),
        (["--db", "x.db", "--lang", "en", "--ensure-demo"], True),
        (["--db=x.db", "--worker", "演示网格员"], True),
        (["--as", "演示网格员"], True),
        (["stats"], False),
        (["--db", "x.db", "households", "find", "张"], False),
        (["--help"], False),
        (["-h"], False),
        (["--db", "stats"], True),  # "stats" is the database's path here
    ],
)
def test_which_arguments_open_the_interface(argv, interface):
    assert opens_interface(argv) is interface


def test_collector_is_on_after_a_subcommand_and_after_a_usage_error(tmp_path, capsys):
    assert gc.isenabled()
    assert main(["--db", str(tmp_path / "k.db"), "stats", "--json"]) == 1  # no such database
    assert "k.db" in capsys.readouterr().err
    assert gc.isenabled()
    with pytest.raises(SystemExit):
        main(["--no-such-option"])
    assert gc.isenabled()
    with pytest.raises(SystemExit):
        main(["--help"])
    assert gc.isenabled()
    assert "households" in capsys.readouterr().out  # --help still lists every command


def test_opening_the_interface_does_not_import_the_command_modules(tmp_path):
    """Parse ``kiosk --db X`` as the console script does and look at what was imported."""
    code = (
        "import sys; from kiosk.cli.main import build_parser, opens_interface\n"
        "argv = ['--db', sys.argv[1]]\n"
        "build_parser(subcommands=not opens_interface(argv)).parse_args(argv)\n"
        "print(sorted(m for m in sys.modules if m.startswith('kiosk.cli.') and m not in ('kiosk.cli.main', 'kiosk.cli.run', 'kiosk.cli.words')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "k.db")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.strip() == "[]"


async def test_the_interface_lets_the_held_collector_go_after_its_first_frame(runtime):
    from kiosk.cli.run import start_app
    from kiosk.core import collector
    from screens.signin.signin import SignInScreen
    from tests.pilot_helpers import settle

    collector.hold_start()  # as kiosk.cli.main.main does
    assert not gc.isenabled()
    app = start_app(runtime)
    try:
        async with app.run_test(size=(100, 40)) as pilot:
            await settle(app, pilot)
            assert isinstance(app.screen, SignInScreen)
            assert gc.isenabled()
            assert gc.get_freeze_count() > 0  # what start-up built is out of later collections
    finally:
        collector.release_start()
        gc.unfreeze()
