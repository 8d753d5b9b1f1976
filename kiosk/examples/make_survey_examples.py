"""Make the example household questionnaire shipped beside this script.

    .venv/bin/python kiosk/examples/make_survey_examples.py

``household_survey.xlsx`` is an XLSForm as a community office would write one for 入户走访:
a page on the dwelling (a ``field-list`` group), the family's members as a repeat (age
calculated from the birth date, counted and summed afterwards), a cascading choice of the
household's main need (``choice_filter``), a water meter's barcode for the USB scanner, a
Likert rating, an optional location and a door photo (which a terminal skips). Labels are in
Chinese and English (``label::中文 (zh)``, ``label::English (en)``); Ctrl+T switches.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent

SURVEY = [
    # type, name, zh, en, relevant, constraint, constraint zh, calculation, required, appearance, choice_filter, hint zh
    ("start", "start", "", "", "", "", "", "", "", "", "", ""),
    ("end", "end", "", "", "", "", "", "", "", "", "", ""),
    ("today", "today", "", "", "", "", "", "", "", "", "", ""),
    ("username", "worker", "", "", "", "", "", "", "", "", "", ""),
    ("deviceid", "laptop", "", "", "", "", "", "", "", "", "", ""),
    (
        "begin group",
        "dwelling",
        "房屋情况",
        "The dwelling",
        "",
        "",
        "",
        "",
        "",
        "field-list",
        "",
        "",
    ),
    ("select_one tenure", "tenure", "居住性质", "Tenure", "", "", "", "", "yes", "", "", ""),
    (
        "decimal",
        "area",
        "建筑面积（平方米）",
        "Floor area (m²)",
        "",
        ". > 0 and . < 1000",
        "面积须大于 0、小于 1000 平方米",
        "",
        "",
        "",
        "",
        "看房产证或租房合同",
    ),
    ("select_one heating", "heating", "取暖方式", "Heating", "", "", "", "", "", "minimal", "", ""),
    (
        "select_multiple facilities",
        "facilities",
        "楼内设施",
        "Facilities in the building",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    ("end group", "", "", "", "", "", "", "", "", "", "", ""),
    ("begin repeat", "members", "家庭成员", "Household members", "", "", "", "", "", "", "", ""),
    ("text", "member_name", "姓名", "Name", "", "", "", "", "yes", "", "", ""),
    (
        "select_one relation",
        "relation",
        "与户主关系",
        "Relation to the head",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "date",
        "birth",
        "出生日期",
        "Date of birth",
        "",
        ". <= today()",
        "出生日期不能晚于今天",
        "",
        "",
        "no-calendar",
        "",
        "",
    ),
    (
        "calculate",
        "age",
        "",
        "",
        "",
        "",
        "",
        "int((today() - ${birth}) div 365.25)",
        "",
        "",
        "",
        "",
    ),
    (
        "note",
        "age_note",
        "年龄：${age} 岁",
        "Age: ${age}",
        "${birth} != ''",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "select_multiple special",
        "special",
        "特殊情况",
        "Circumstances",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "可多选；都不是就不选",
    ),
    ("end repeat", "", "", "", "", "", "", "", "", "", "", ""),
    ("calculate", "n_members", "", "", "", "", "", "count(${member_name})", "", "", "", ""),
    ("calculate", "n_elderly", "", "", "", "", "", "count(${members}[age >= 60])", "", "", "", ""),
    (
        "note",
        "summary",
        "全户 ${n_members} 人，其中 60 岁以上 ${n_elderly} 人",
        "${n_members} people, ${n_elderly} of them 60 or older",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    ("begin group", "needs", "诉求", "Needs", "", "", "", "", "", "field-list", "", ""),
    ("select_one need", "need", "主要诉求", "Main need", "", "", "", "", "", "", "", ""),
    (
        "select_one need_detail",
        "need_detail",
        "具体是",
        "In detail",
        "${need} != '' and ${need} != 'none'",
        "",
        "",
        "",
        "",
        "",
        "need = ${need}",
        "",
    ),
    (
        "text",
        "need_text",
        "诉求说明",
        "About the need",
        "${need} != 'none' and ${need} != ''",
        "",
        "",
        "",
        "",
        "multiline",
        "",
        "",
    ),
    (
        "barcode",
        "water_meter",
        "水表条码（可用扫码枪）",
        "Water meter barcode (scanner)",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "select_one rating",
        "rating",
        "对社区工作的评价",
        "Your view of the community's work",
        "",
        "",
        "",
        "",
        "",
        "likert",
        "",
        "",
    ),
    ("end group", "", "", "", "", "", "", "", "", "", "", ""),
    (
        "geopoint",
        "location",
        "位置（可不填）",
        "Location (optional)",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    ("image", "door_photo", "门牌照片", "Door plate photo", "", "", "", "", "", "", "", ""),
]

CHOICES = [
    # list_name, name, zh, en, need (filter column)
    ("tenure", "own", "自有住房", "Owned", ""),
    ("tenure", "rent", "租住", "Rented", ""),
    ("tenure", "lent", "借住", "Lent", ""),
    ("heating", "central", "集中供暖", "District heating", ""),
    ("heating", "own", "自采暖", "Own heating", ""),
    ("heating", "none", "无", "None", ""),
    ("facilities", "lift", "电梯", "Lift", ""),
    ("facilities", "ramp", "无障碍通道", "Step-free access", ""),
    ("facilities", "charger", "电动车充电桩", "E-bike chargers", ""),
    ("facilities", "extinguisher", "灭火器", "Fire extinguishers", ""),
    ("relation", "head", "户主", "Head", ""),
    ("relation", "spouse", "配偶", "Spouse", ""),
    ("relation", "child", "子女", "Child", ""),
    ("relation", "parent", "父母", "Parent", ""),
    ("relation", "other", "其他", "Other", ""),
    ("special", "alone", "独居老人", "Elderly living alone", ""),
    ("special", "disabled", "残疾", "Disability", ""),
    ("special", "low_income", "低保", "Minimum living allowance", ""),
    ("special", "veteran", "退役军人", "Veteran", ""),
    ("need", "none", "暂无诉求", "None", ""),
    ("need", "housing", "住房", "Housing", ""),
    ("need", "work", "就业", "Work", ""),
    ("need", "care", "养老照护", "Care for the elderly", ""),
    ("need_detail", "repair", "房屋维修", "Repairs", "housing"),
    ("need_detail", "heating", "暖气不热", "Heating too cold", "housing"),
    ("need_detail", "training", "技能培训", "Training", "work"),
    ("need_detail", "job", "介绍工作", "Finding a job", "work"),
    ("need_detail", "meals", "助餐", "Meals", "care"),
    ("need_detail", "visits", "上门探视", "Home visits", "care"),
    ("rating", "satisfied", "满意", "Satisfied", ""),
    ("rating", "basic", "基本满意", "Fairly satisfied", ""),
    ("rating", "dissatisfied", "不满意", "Dissatisfied", ""),
]


def main() -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(
        [
            "type",
            "name",
            "label::中文 (zh)",
            "label::English (en)",
            "relevant",
            "constraint",
            "constraint_message::中文 (zh)",
            "calculation",
            "required",
            "appearance",
            "choice_filter",
            "hint::中文 (zh)",
        ]
    )
    for row in SURVEY:
        ws.append([cell or None for cell in row])
    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", "label::中文 (zh)", "label::English (en)", "need"])
    for choice in CHOICES:
        choices.append([cell or None for cell in choice])
    settings = wb.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append(["入户走访登记表", "household_2026", "2026120401", "中文 (zh)"])
    path = HERE / "household_survey.xlsx"
    wb.save(path)
    return path


if __name__ == "__main__":
    print(main())
