"""``kiosk survey import|list|export``: XLSForm questionnaires and their responses."""

from __future__ import annotations

import argparse

from kiosk.cli.output import open_runtime
from kiosk.core.i18n import t
from kiosk.domain.survey import import_survey


def register(sub, common) -> None:
    p = sub.add_parser(
        "survey",
        parents=[common],
        help=t("visits.cli.survey_help"),
        description=t("visits.cli.survey_help"),
    )
    ss = p.add_subparsers(dest="survey_command", metavar="ACTION", required=True)
    imp = ss.add_parser(
        "import",
        parents=[common],
        help=t("visits.cli.survey_import_help"),
        description=t("visits.cli.survey_import_help"),
    )
    imp.add_argument("file", metavar="FILE.xlsx", help=t("visits.cli.survey_file"))
    imp.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    imp.set_defaults(handler=run_import)
    ls = ss.add_parser(
        "list",
        parents=[common],
        help=t("visits.cli.survey_list_help"),
        description=t("visits.cli.survey_list_help"),
    )
    ls.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    ls.set_defaults(handler=run_list)
    ex = ss.add_parser(
        "export",
        parents=[common],
        help=t("visits.cli.survey_export_help"),
        description=t("visits.cli.survey_export_help"),
    )
    ex.add_argument("name", metavar="NAME", help=t("visits.cli.survey_name"))
    ex.add_argument("--out", required=True, metavar="FILE", help=t("visits.cli.survey_out"))
    ex.add_argument("--labels", metavar="LANGUAGE", help=t("visits.cli.survey_labels"))
    ex.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    ex.set_defaults(handler=run_export)


def run_import(args: argparse.Namespace) -> int:
    from db.connection import transaction
    from kiosk.cli.output import emit_json, info
    from kiosk.domain.survey import load_xlsform
    from kiosk.security.roles import require

    definition = load_xlsform(args.file)  # checked before the database is even opened
    runtime = open_runtime(args, writes=True, create=True)
    try:
        require(runtime.worker, "survey.manage")
        with transaction(runtime.conn):
            sid, created = import_survey(runtime.ctx, definition)
    finally:
        runtime.close()
    from kiosk.domain.survey import question_count

    n = question_count(definition)
    notes = list(definition.get("notes") or [])
    if args.json:
        emit_json(
            {
                "id": sid,
                "name": definition["name"],
                "title": definition["title"],
                "version": definition["version"],
                "questions": n,
                "created": created,
                "languages": definition.get("languages") or [],
                "notes": notes,
            }
        )
        return 0
    elif created:
        info(
            t(
                "visits.survey.imported",
                title=definition["title"],
                name=definition["name"],
                version=definition["version"],
                n=n,
            )
        )
    else:
        info(t("visits.survey.unchanged", name=definition["name"], version=definition["version"]))
    if notes:
        info(t("visits.form.notes"))
        for line in notes:
            info(f"  - {line}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from db.surveys import count_responses, list_surveys
    from kiosk.cli.output import emit_json, info, table

    runtime = open_runtime(args)
    try:
        rows = [(s, count_responses(runtime.conn, s.id)) for s in list_surveys(runtime.conn)]
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {
                "surveys": [
                    {
                        "id": s.id,
                        "name": s.name,
                        "title": s.title,
                        "version": s.version,
                        "responses": n,
                    }
                    for s, n in rows
                ]
            }
        )
        return 0
    if not rows:
        info(t("visits.survey.list_empty"))
        return 0
    print(
        table(
            ["name", "title", "version", "n"],
            [(s.name, s.title, s.version, str(n)) for s, n in rows],
        )
    )
    return 0


def run_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from db.surveys import find_survey, iter_responses, list_surveys, survey_versions
    from kiosk.cli.output import emit_json, info
    from kiosk.core.errors import UserError
    from kiosk.domain.survey import export_tables, form_of
    from kiosk.security.roles import require

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UserError("visits.survey.out_format", exit_code=2, path=str(out))
    runtime = open_runtime(args, writes=True)
    try:
        conn = runtime.conn
        # answers leave as given (free text may name people), every grid's: a supervisor's
        require(runtime.worker, "export.full")
        survey = find_survey(conn, args.name)
        if survey is None:
            known = t("ui.list_sep").join(s.name for s in list_surveys(conn)) or "-"
            raise UserError("visits.survey.unknown", exit_code=2, name=args.name[:60], known=known)
        every = survey_versions(conn, survey.name)
        versions = {v.id: v.version for v in every}
        definitions = [v.definition for v in every]
        labels = None
        if args.labels:
            languages = form_of(definitions[0]).languages
            labels = _language(args.labels, languages)
        tables = list(
            export_tables(definitions, iter_responses(conn, survey.name), versions, labels=labels)
        )
        n, header = _write(out, tables)
        # Audited: answers are exported as given (not masked); every grid's responses.
        runtime.ctx.audit(
            "export",
            "survey",
            survey.id,
            detail={"format": suffix.lstrip("."), "rows": n, "masked": False, "grids": ["*"]},
        )
    finally:
        runtime.close()
    if args.json:
        emit_json({"name": survey.name, "responses": n, "path": str(out), "columns": header})
    else:
        info(t("visits.survey.exported", n=n, path=str(out)))
    return 0


def _language(wanted: str, languages: tuple[str, ...]) -> str:
    """The form language ``--labels`` names: exactly, or by its code (``zh`` for
    ``Chinese (zh)``) or a word of it."""
    from kiosk.core.errors import UserError

    low = wanted.strip().lower()
    for lang in languages:
        if lang.lower() == low or f"({low})" in lang.lower() or low in lang.lower().split():
            return lang
    if not languages and low in ("default", ""):
        return ""
    raise UserError(
        "visits.form.error.no_language",
        exit_code=2,
        language=wanted[:40],
        known=t("ui.list_sep").join(languages) or "-",
    )


def _write(out, tables) -> tuple[int, list[str]]:
    """Write to temporary files and rename: a failed export never leaves half a file. An
    .xlsx holds one sheet per table; a .csv is the responses, and each repeat goes to a
    file of its own beside it (``out-members.csv``), as ODK Central's export does."""
    import csv
    import os

    targets = []
    n = 0
    try:
        if out.suffix.lower() == ".csv":
            for i, (sheet, header, rows) in enumerate(tables):
                path = out if i == 0 else out.with_name(f"{out.stem}-{sheet}{out.suffix}")
                tmp = path.with_name(path.name + ".part")
                targets.append((tmp, path))
                # utf-8 with BOM: Excel opens Chinese text correctly (as Kobo's CSV export does).
                with tmp.open("w", newline="", encoding="utf-8-sig") as fh:
                    writer = csv.writer(fh)
                    writer.writerow(header)
                    for row in rows:
                        writer.writerow(row)
                        n += i == 0
        else:
            from openpyxl import Workbook

            tmp = out.with_name(out.name + ".part")
            targets.append((tmp, out))
            wb = Workbook(write_only=True)
            used: set[str] = set()
            for i, (sheet, header, rows) in enumerate(tables):
                title = (sheet[:28] or "data").replace("/", "-")
                while title in used:
                    title = title[:26] + f"_{len(used)}"
                used.add(title)
                ws = wb.create_sheet(title=title)
                ws.append(header)
                for row in rows:
                    ws.append(row)
                    n += i == 0
            wb.save(tmp)
        for tmp, path in targets:
            os.replace(tmp, path)
    finally:
        for tmp, _ in targets:
            tmp.unlink(missing_ok=True)
    return n, tables[0][1] if tables else []
