"""Roster import throughput: judging rows against a plain read of the same file, writing
against a plain ``executemany`` of the same people, and a second (no-op) import.

    python -m bench roster          (KIOSK_BENCH_ROSTER_ROWS=20000 by default)
"""

from __future__ import annotations

import csv
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import report

ROWS = int(os.environ.get("KIOSK_BENCH_ROSTER_ROWS", "20000"))
#: the street office's whole roster, for the memory figure
BIG_ROWS = int(os.environ.get("KIOSK_BENCH_ROSTER_BIG_ROWS", "200000"))


def _make_files(folder: Path, rows: int, *, xlsx: bool = True) -> tuple[Path, Path | None]:
    import openpyxl

    from kiosk.households.roster.fields import id_check_char

    rng = random.Random(5)
    header = [
        "姓名",
        "与户主关系",
        "身份证号",
        "联系电话",
        "网格",
        "小区",
        "楼栋",
        "单元",
        "房号",
        "重点人群",
    ]
    data = []
    i = hh = 0
    while i < rows:
        hh += 1
        building, rest = divmod(hh, 400)
        unit, room = divmod(rest, 100)
        for k, relation in enumerate(["户主", "配偶", "子"][: rng.randint(1, 3)]):
            body = f"230102{1940 + i % 60}{1 + (i // 60) % 9:02d}1{(i // 540) % 10}{(i // 5400) % 1000:03d}"
            data.append(
                [
                    "王李张刘陈"[k] + "建国丽华明芳"[i % 6] + "甲乙丙丁"[(i // 6) % 4],
                    relation,
                    body + id_check_char(body),
                    "138" + str(rng.randrange(10**8)).zfill(8),
                    "G001",
                    "大批小区",
                    building + 1,
                    unit + 1,
                    101 + room,
                    "独居" if k == 0 and i % 7 == 0 else "",
                ]
            )
            i += 1
    csv_path = folder / "roster.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(data)
    if not xlsx:
        return csv_path, None
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("花名册")
    ws.append(header)
    for row in data:
        ws.append(row)
    xlsx_path = folder / "roster.xlsx"
    wb.save(xlsx_path)
    return csv_path, xlsx_path


def _plain_read_csv(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as fh:
        return sum(1 for _ in csv.reader(fh))


def _plain_read_xlsx(path: Path) -> int:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    return n


def _plain_insert(path: Path, people: list[tuple]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE plain(id, household, name, relation, phone, id_number, tags)")
    start = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO plain VALUES (?,?,?,?,?,?,?)", people)
    conn.execute("COMMIT")
    took = time.perf_counter() - start
    conn.close()
    return took


def main() -> bool:
    from db.areas import get_or_create_grid
    from db.connection import transaction
    from kiosk.households.roster.apply import apply_plan, plan_import
    from kiosk.runtime import load, open_runtime

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ.setdefault("KIOSK_DATA_DIR", str(folder / "data"))
        csv_path, xlsx_path = _make_files(folder, ROWS)
        assert xlsx_path is not None
        print(f"  {ROWS} people in one-row-per-person rosters", flush=True)

        rt = open_runtime(load(db=str(folder / "k.db")))
        with transaction(rt.conn):
            get_or_create_grid(
                rt.ctx, "G001", "安静社区第一网格", "安静社区", "新阳路街道", "道里区"
            )

        start = time.perf_counter()
        _plain_read_csv(csv_path)
        read_csv = time.perf_counter() - start
        start = time.perf_counter()
        plan = plan_import(rt.conn, csv_path)
        judge_csv = time.perf_counter() - start
        report(
            "judge csv", ROWS / judge_csv, "rows/s", baseline=ROWS / read_csv, higher_is_better=True
        )

        start = time.perf_counter()
        _plain_read_xlsx(xlsx_path)
        read_xlsx = time.perf_counter() - start
        start = time.perf_counter()
        plan_x = plan_import(rt.conn, xlsx_path)
        judge_xlsx = time.perf_counter() - start
        report(
            "judge xlsx",
            ROWS / judge_xlsx,
            "rows/s",
            baseline=ROWS / read_xlsx,
            higher_is_better=True,
        )
        assert not plan.rejected and not plan_x.rejected

        people = [
            (f"m{i}", p.row, p.name, p.relation, p.phone, p.id_number, " ".join(p.tags))
            for i, hh in enumerate(plan.households.values())
            for p in hh.people
        ]
        plain = _plain_insert(folder / "plain.db", people)
        start = time.perf_counter()
        result = apply_plan(rt.ctx, plan)
        write = time.perf_counter() - start
        assert result.imported_members == len(people)
        report(
            "write (one transaction, outbox, search keys)",
            len(people) / write,
            "people/s",
            baseline=len(people) / plain,
            higher_is_better=True,
        )

        start = time.perf_counter()
        again = apply_plan(rt.ctx, plan_import(rt.conn, csv_path))
        second = time.perf_counter() - start
        assert again.unchanged == len(plan.households) and again.imported_members == 0
        report(
            "second import of the same file (nothing changes)",
            second,
            "s",
            baseline=judge_csv + write,
        )
        rt.close()

        ok = _peak_import(folder, csv_path, ROWS)
        ok &= _real_layout_with_areas(folder / "real", ROWS)
        big = folder / "big"
        big.mkdir()
        big_csv, _ = _make_files(big, BIG_ROWS, xlsx=False)
        ok &= _peak_import(big, big_csv, BIG_ROWS)
    return ok


def _peak_import(folder: Path, csv_path: Path, rows: int) -> bool:
    """The real command in a process of its own, into a fresh database: its speed and its
    peak memory (the command's own, not the benchmark's, which builds the roster files too)."""
    from db.areas import get_or_create_grid
    from db.connection import transaction
    from kiosk.runtime import load, open_runtime

    fresh = open_runtime(load(db=str(folder / "fresh.db")))
    with transaction(fresh.conn):
        get_or_create_grid(
            fresh.ctx, "G001", "安静社区第一网格", "安静社区", "新阳路街道", "道里区"
        )
    fresh.close()
    start = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _PEAK,
            "households",
            "import",
            str(csv_path),
            "--db",
            str(folder / "fresh.db"),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    took = time.perf_counter() - start
    report(f"kiosk households import of {rows:,} people", rows / took, "people/s")
    return report(
        f"households import of {rows:,} people: peak memory",
        int(out.stderr.split()[-1]) / 1024,
        "MB",
        budget=200,
    )


def _real_layout_file(folder: Path, rows: int) -> tuple[Path, int]:
    """A street office's roster as it comes: its own 街道 / 社区 / 网格 names (grids this
    database does not have), one row per person, and about 3% of the numbers typed wrong
    (kept, to verify). Returns the file and its number of households."""
    from kiosk.households.roster.fields import id_check_char

    rng = random.Random(9)
    folder.mkdir()
    path = folder / "花名册.csv"
    grids = [(c, g) for c in ("新伟社区", "春华社区") for g in ("第一网格", "第二网格", "第三网格")]
    households = i = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["街道", "社区", "网格", "小区", "楼栋", "单元", "房号", "姓名", "与户主关系",
                    "身份证号", "联系电话", "重点人群"])  # fmt: skip
        while i < rows:
            households += 1
            community, grid = grids[households % len(grids)]
            building, rest = divmod(households, 300)
            unit, room = divmod(rest, 100)
            for k, relation in enumerate(["户主", "配偶", "子"][: rng.randint(1, 3)]):
                body = f"230102{1940 + i % 60}{1 + (i // 60) % 9:02d}1{(i // 540) % 10}{(i // 5400) % 1000:03d}"
                check = id_check_char(body)
                if rng.random() < 0.03:
                    check = "0" if check != "0" else "1"  # a digit typed wrong
                phone = "138" + str(rng.randrange(10**8)).zfill(8)
                if rng.random() < 0.03:
                    phone = phone[:7]
                w.writerow([
                    "新伟街道", community, grid, f"{community[:2]}小区", building + 1, unit + 1,
                    101 + room, "王李张刘陈"[k] + "建国丽华明芳"[i % 6] + "甲乙丙丁"[(i // 6) % 4],
                    relation, body + check, phone, "独居" if k == 0 and i % 7 == 0 else "",
                ])  # fmt: skip
                i += 1
    return path, households


#: runs of each side of the real-layout figure (median taken)
REAL_RUNS = int(os.environ.get("KIOSK_BENCH_ROSTER_REAL_RUNS", "3"))


def _timed_kiosk(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    """``kiosk ARGS`` in a process of its own, from start to exit; its peak memory (KiB) is
    the last line of its stderr."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _PEAK, *args], capture_output=True, text=True)
    took = time.perf_counter() - start
    if out.returncode not in (0, 1):  # 1: some rows rejected, said in the report
        raise RuntimeError(out.stderr[-2000:])
    return took, out


def _real_layout_with_areas(folder: Path, rows: int) -> bool:
    """``kiosk households import --create-areas`` of a real-layout roster into a fresh
    database, per household, against ``kiosk demo`` (the demo generator) writing as many
    households into another, per household: both commands timed alike, each in a process of
    its own from start to exit, taking turns, the median of ``REAL_RUNS`` runs of each. (The
    generator used to be timed inside the benchmark's process, where it ran a third faster
    when something before it had loaded what it needs: the figure moved from 0.40x to 0.51x
    between two runs of the same code.) And the import's peak memory."""
    import json
    from statistics import median

    from kiosk.runtime import load, open_runtime

    path, households = _real_layout_file(folder, rows)
    demo_households = households  # the same work for the fixed costs of a command
    imports: list[float] = []
    demos: list[float] = []
    doc: dict = {}
    peak = 0
    for n in range(REAL_RUNS):
        fresh, demo = folder / f"fresh-{n}.db", folder / f"demo-{n}.db"
        open_runtime(load(db=str(fresh))).close()  # a new office's empty database
        took, out = _timed_kiosk("households", "import", str(path), "--create-areas",
                                 "--db", str(fresh), "--json")  # fmt: skip
        imports.append(took)
        doc = json.loads(out.stdout)
        peak = max(peak, int(out.stderr.split()[-1]))
        took, _ = _timed_kiosk("demo", "--households", str(demo_households), "--db", str(demo),
                               "--json")  # fmt: skip
        demos.append(took)
    took, demo_rate = median(imports), demo_households / median(demos)
    print(
        f"  real layout: {rows:,} people in {households:,} households, "
        f"{len(doc['created_areas'])} grids created, {len(doc['warnings'])} numbers to verify,"
        f" {len(doc['rejected'])} rows rejected, in {took:.1f} s (runs: "
        + ", ".join(f"{x:.1f}" for x in imports)
        + f"); kiosk demo: {demo_rate:,.0f} households/s (runs: "
        + ", ".join(f"{x:.1f}" for x in demos)
        + " s)",
        flush=True,
    )
    ok = report(
        f"real-layout import with areas created ({rows:,} people), per household",
        (households / took) / demo_rate,
        "x demo generator",
        budget=0.5,
        higher_is_better=True,
    )
    return ok & report(
        f"real-layout import with areas created ({rows:,} people): peak memory",
        peak / 1024,
        "MB",
        budget=300,
    )


# ``kiosk`` itself, then the process's peak resident memory (KiB) on stderr's last line. The
# peak is VmHWM, the high-water mark of this program's own memory: getrusage's ru_maxrss
# survives exec, so a child of a large process (``make bench`` after building the 1M
# district) reported its parent's peak, 1,080 MB for an import that took 141 MB.
_PEAK = """
import sys
from kiosk.cli.main import main
try:
    code = main(sys.argv[1:])
finally:
    with open("/proc/self/status") as fh:
        hwm = next(line.split()[1] for line in fh if line.startswith("VmHWM:"))
    print(hwm, file=sys.stderr)
sys.exit(code)
"""


if __name__ == "__main__":
    main()
