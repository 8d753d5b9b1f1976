"""Files from outside cannot take the laptop's memory: a workbook that unpacks to hundreds
of megabytes (one enormous cell), a roster of more rows than any street has, a CSV line of
megabytes: the real `kiosk households import` / `kiosk survey import` end quickly with a
message saying what is wrong and what to do, in a process whose peak memory stays small."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kiosk.households.roster.read import MAX_ROWS
from tests.conftest import ADMINISTRATOR, DEMO_PINS, ROOT, SUPERVISOR

PEAK_MB = 300


def _huge_cell_xlsx(path: Path, megabytes: int = 300) -> None:
    """A minimal workbook whose shared string is ``megabytes`` of one character: the file
    is well under a megabyte."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.'
            'openxmlformats.org/package/2006/content-types"/>',
        )
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/sharedStrings.xml", "w") as fh:
            fh.write(b"<sst><si><t>")
            chunk = b"x" * (1 << 20)
            for _ in range(megabytes):
                fh.write(chunk)
            fh.write(b"</t></si></sst>")
        z.writestr(
            "xl/worksheets/sheet1.xml",
            '<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
            "</sheetData></worksheet>",
        )


def _run_measured(args: list[str], stdin: str) -> tuple[subprocess.CompletedProcess, int]:
    """Run ``kiosk ARGS`` in a process of its own and return it with its peak RSS (MB)."""
    probe = (
        "import resource, subprocess, sys, json\n"
        "p = subprocess.run([sys.executable, '-m', 'kiosk.cli.main', *json.loads(sys.argv[1])],"
        " input=sys.stdin.read(), capture_output=True, text=True, timeout=120)\n"
        "print(json.dumps([p.returncode, p.stdout, p.stderr,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
    )
    code, stdout, stderr, peak = json.loads(out.stdout)
    return subprocess.CompletedProcess(args, code, stdout, stderr), peak


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda p: _huge_cell_xlsx(p.with_suffix(".xlsx")), "压缩比"),
        (
            lambda p: p.with_suffix(".csv").write_text(
                "姓名,电话,网格\n"
                + "".join(f"张{i},1380000{i % 10000:04d},G001\n" for i in range(MAX_ROWS + 1)),
                encoding="utf-8",
            ),
            "行",
        ),
        (lambda p: p.with_suffix(".csv").write_bytes(b"name,phone\n" + b"x" * (3 << 20)), "字符"),
    ],
)
def test_a_hostile_roster_is_refused_quickly_in_little_memory(tmp_path, demo_db, make, needle):
    make(tmp_path / "roster")
    file = next(tmp_path.glob("roster.*"))
    out, peak = _run_measured(
        [
            "--as",
            ADMINISTRATOR,
            "--pin-stdin",
            "households",
            "import",
            str(file),
            "--db",
            str(demo_db),
        ],
        DEMO_PINS[ADMINISTRATOR] + "\n",
    )
    assert out.returncode == 2, out.stderr
    assert needle in out.stderr and "Traceback" not in out.stderr and "意外" not in out.stderr
    assert peak <= PEAK_MB, peak


def test_a_hostile_questionnaire_is_refused_quickly_in_little_memory(tmp_path, demo_db):
    form = tmp_path / "form.xlsx"
    _huge_cell_xlsx(form)
    out, peak = _run_measured(
        ["--as", SUPERVISOR, "--pin-stdin", "survey", "import", str(form), "--db", str(demo_db)],
        DEMO_PINS[SUPERVISOR] + "\n",
    )
    assert out.returncode != 0 and "太大" in out.stderr and "Traceback" not in out.stderr
    assert peak <= PEAK_MB, peak
