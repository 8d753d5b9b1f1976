"""The house keeps its rules (docs/architecture.md, docs/development.md): package roots import
nothing, SQL lives in db/ and kiosk/hub/store/ (an allowlist that may only shrink), no comment
names an issue, and every touch of Textual's private API is in kiosk/app/textual_private.py.
The import contracts themselves are import-linter's, in pyproject.toml (`make lint`)."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

PACKAGES = ("kiosk", "screens", "db")
SQL_START = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|WITH|REPLACE)\b", re.I
)
SQL_BODY = re.compile(r"\b(FROM|INTO|SET|TABLE|user_version|journal_mode)\b|^\s*PRAGMA", re.I)

#: Modules outside db/ and kiosk/hub/store/ that still hold SQL, and how many statements:
#: moving a query into db/ lowers a count here (the test fails until the list is lowered
#: too); nothing may be added.
SQL_ALLOWED = {
    "kiosk/cases/figures.py": 3,
    "kiosk/cases/stats.py": 3,
    "kiosk/cli/audit.py": 3,
    "kiosk/cli/cases.py": 1,
    "kiosk/cli/demo.py": 2,
    "kiosk/cli/households.py": 2,
    "kiosk/cli/run.py": 1,
    "kiosk/cli/visits.py": 1,
    "kiosk/cli/workers.py": 3,
    "kiosk/demo/cases.py": 10,
    "kiosk/demo/visits.py": 8,
    "kiosk/domain/visits.py": 3,
    "kiosk/households/export.py": 2,
    "kiosk/households/home_data.py": 6,
    "kiosk/households/roster/apply.py": 2,
    "kiosk/hub/forget.py": 8,
    "kiosk/qr/actions.py": 1,
    "kiosk/qr/lookup.py": 2,
    "kiosk/qr/printing.py": 4,
    "kiosk/qr/slip.py": 1,
    "kiosk/runtime.py": 1,
    "kiosk/security/privacy.py": 2,
    "kiosk/security/roles.py": 2,
    "kiosk/sync/seed.py": 4,
    "screens/cases/case_register.py": 1,
    "screens/cases/case_list.py": 2,
    "screens/visits/visit_form.py": 1,
}

TEXTUAL_PRIVATE = re.compile(
    r"\b_screen_stacks?\b|\b_replace_screen\b|\b_pop_result_callback\b|\b_css_update_count\b"
    r"|\btextual\._\w+"
)


def _modules(*roots: str):
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path


def test_package_roots_import_nothing_of_the_project():
    for name, path in _modules(*PACKAGES):
        if not name.endswith("__init__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any(n.split(".")[0] in PACKAGES for n in names), (
                f"{name} imports {names}: a package root imports nothing; import the module"
            )


def _sql_count(path) -> int:
    n = 0
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            n += bool(SQL_START.match(node.value) and SQL_BODY.search(node.value))
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            n += bool(
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and SQL_START.match(first.value)
            )
    return n


def test_sql_lives_in_db_and_the_hub_store():
    found = {
        name: n
        for name, path in _modules("kiosk", "screens")
        if not name.startswith("kiosk/hub/store/") and (n := _sql_count(path))
    }
    grown = {k: (v, SQL_ALLOWED.get(k, 0)) for k, v in found.items() if v > SQL_ALLOWED.get(k, 0)}
    assert not grown, f"SQL outside db/ (found, allowed): {grown}; put the query in db/"
    shrunk = {k: (found.get(k, 0), v) for k, v in SQL_ALLOWED.items() if found.get(k, 0) < v}
    assert not shrunk, f"less SQL than allowed (found, allowed): {shrunk}; lower SQL_ALLOWED"


def test_the_sql_finder_finds_sql():
    sample = ROOT / "db" / "walklist.py"
    assert _sql_count(sample) > 0


def test_no_comment_names_an_issue():
    pattern = re.compile(r"\bissue \d+", re.I)
    offenders = [
        name
        for name, path in _modules(*PACKAGES, "tests", "bench")
        if name != "tests/test_house.py" and pattern.search(path.read_text())
    ]
    assert not offenders, f"history lives in git, not in comments: {offenders}"


def test_textual_private_api_is_touched_in_one_file():
    offenders = [
        name
        for name, path in _modules("kiosk", "screens")
        if name != "kiosk/app/textual_private.py" and TEXTUAL_PRIVATE.search(path.read_text())
    ]
    assert not offenders, f"Textual's private API outside kiosk/app/textual_private.py: {offenders}"


def test_textual_still_has_what_textual_private_uses():
    """Fails when a Textual release renames or reshapes one of the private names we use."""
    import inspect

    from textual import _context
    from textual.app import App
    from textual.screen import Screen

    assert hasattr(_context, "active_message_pump")
    assert _context.active_message_pump.get(None) is None  # a ContextVar, unset here
    assert list(inspect.signature(App._replace_screen).parameters) == ["self", "screen"]
    assert inspect.iscoroutinefunction(App._replace_screen)
    assert callable(Screen._pop_result_callback)
    assert isinstance(App._screen_stack, property)
    app = App()
    assert isinstance(app._screen_stacks, dict)
    generation = app._css_update_count
    app._invalidate_css()  # what a theme change calls
    assert app._css_update_count == generation + 1
    # the palette's "no matches" countdown, which kiosk/app/textual_private.py reimplements
    from textual.command import CommandPalette

    countdown = inspect.getsource(CommandPalette._start_no_matches_countdown)
    for name in ("_stop_no_matches_countdown", "_NO_MATCHES", "_list_visible", "_no_matches_timer"):
        assert name in countdown, name
    assert isinstance(CommandPalette._NO_MATCHES_COUNTDOWN, float)
    assert list(inspect.signature(CommandPalette._start_no_matches_countdown).parameters) == [
        "self",
        "search_value",
    ]


def test_every_screen_declares_the_permission_it_needs():
    import importlib
    import inspect

    from textual.screen import Screen

    from kiosk.security.roles import PERMISSIONS

    seen = []
    for name, _ in _modules("screens"):
        module = importlib.import_module(name.removesuffix(".py").replace("/", "."))
        for cls in vars(module).values():
            if (
                inspect.isclass(cls)
                and issubclass(cls, Screen)
                and cls.__module__ == module.__name__
            ):
                seen.append(cls.__name__)
                assert "PERMISSION" in vars(cls), f"{cls.__name__} declares no PERMISSION"
                assert cls.PERMISSION is None or cls.PERMISSION in PERMISSIONS, cls.__name__
    assert {"HouseholdScreen", "VisitFormScreen", "ConflictScreen"} <= set(seen)


def test_the_benchmarks_run_the_app_at_its_own_frame_rate():
    """A benchmark may import Textual before the app does: Textual must still find the frame
    rate the app sets for itself (kiosk/app/shell.py)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "import bench, textual.constants as c; print(c.MAX_FPS)"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={k: v for k, v in __import__("os").environ.items() if k != "TEXTUAL_FPS"},
    )
    assert out.stdout.strip() == "120", out.stderr


def test_each_benchmark_runs_in_a_process_of_its_own_and_hands_back_its_figures(tmp_path):
    """`python -m bench` starts every module as `python -m bench --one NAME FILE`: the child
    writes its figures to FILE whatever happens (here: a module that does not exist), and
    says what went wrong instead of a traceback."""
    import json
    import subprocess
    import sys

    figures = tmp_path / "figures.json"
    out = subprocess.run(
        [sys.executable, "-m", "bench", "--one", "bench_no_such_module", str(figures)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 1
    assert "bench_no_such_module: ERROR ModuleNotFoundError" in out.stdout
    assert json.loads(figures.read_text()) == []
