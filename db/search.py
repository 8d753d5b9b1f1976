"""Household search: names, pinyin, initials, address fragments, compounds, phone digits.

Every query kind is one or two range scans of the ``search_terms`` primary key, so a query on
a million households touches a few dozen index entries. Results come best first: exact keys,
then households of a matching compound, then prefix matches; ties in index order.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace

from db.households import Household, households_by_rid
from db.normalize import (
    clean_query,
    digits,
    is_cjk,
    is_plain_name,
    looks_like_address,
    name_terms,
    split_address,
    split_compound_prefix,
)

_TOP = "\U0010ffff"  # sorts after every character, so prefix <= term < prefix + _TOP


@dataclass(frozen=True)
class SearchHit:
    household: Household
    rank: int  # 0 exact, 1 compound, 2 prefix
    matched: str  # which kind of key matched: name, pinyin, initials, phone, address, compound
    member: str = ""  # for a name, pinyin, initials or phone match: the member who matched


@dataclass(frozen=True)
class _Probe:
    prefix: str
    exact: bool
    kind: str


def plan(query: str) -> tuple[list[_Probe], str, str]:
    """Decide which keys to look up: (probes, compound text, phone digits filter)."""
    q = clean_query(query)
    if not q:
        return [], "", ""
    probes: list[_Probe] = []
    compound, rest = split_compound_prefix(q)
    if looks_like_address(rest):
        parts, complete = split_address(rest)
        if parts:
            key = "-".join(parts)
            if len(parts) == 3:
                probes.append(_Probe("a:" + key, True, "address"))
                probes.append(_Probe("a:" + key, False, "address"))
            else:
                probes.append(_Probe("a:" + key + ("-" if complete else ""), False, "address"))
        return probes, compound, ""
    d = q.replace(" ", "")
    if d.isdigit():
        if len(d) >= 4:
            probes.append(_Probe("t:" + d[-4:], True, "phone"))
        return probes, "", d if len(d) > 4 else ""
    letters = "".join(ch for ch in d if "a" <= ch <= "z")
    cjk = "".join(ch for ch in d if is_cjk(ch))
    if cjk and len(cjk) >= len(letters):
        probes += [_Probe("n:" + cjk, True, "name"), _Probe("n:" + cjk, False, "name")]
        return probes, cjk, ""
    if letters:
        probes += [
            _Probe("i:" + letters, True, "initials"),
            _Probe("p:" + letters, True, "pinyin"),
            _Probe("p:" + letters, False, "pinyin"),
            _Probe("i:" + letters, False, "initials"),
        ]
        return probes, letters, ""
    return [], "", ""


def _scan(conn: sqlite3.Connection, probe: _Probe, limit: int) -> list[int]:
    if probe.exact:
        sql = "SELECT hh FROM search_terms WHERE term = ? LIMIT ?"
        return [r[0] for r in conn.execute(sql, (probe.prefix, limit))]
    sql = "SELECT hh FROM search_terms WHERE term >= ? AND term < ? LIMIT ?"
    return [r[0] for r in conn.execute(sql, (probe.prefix, probe.prefix + _TOP, limit))]


def _compound_households(
    conn: sqlite3.Connection, text: str, limit: int, address: str = ""
) -> list[int]:
    """Households of compounds whose name, pinyin or initials start with ``text``."""
    if not text:
        return []
    col = "name" if any(is_cjk(c) for c in text) else None
    cols = [col] if col else ["initials", "pinyin"]
    ids: list[str] = []
    for c in cols:
        ids += [
            r[0]
            for r in conn.execute(
                f"SELECT id FROM compounds WHERE {c} >= ? AND {c} < ? LIMIT 50",
                (text, text + _TOP),
            )
        ]
    if not ids:
        return []
    if address:
        # One join: each matching compound probes its (compound_id, address_key) index once.
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            f"SELECT h.rid FROM households h JOIN compounds c ON c.id = h.compound_id"
            f" WHERE h.compound_id IN ({marks}) AND h.address_key >= ? AND h.address_key < ?"
            f" ORDER BY c.name = ? DESC, c.name, h.address_key LIMIT ?",
            (*dict.fromkeys(ids), address, address + _TOP, text, limit),
        )
        return [r[0] for r in rows]
    out: list[int] = []
    for cid in dict.fromkeys(ids):
        rows = conn.execute(
            "SELECT rid FROM households WHERE compound_id = ? ORDER BY address_key LIMIT ?",
            (cid, limit - len(out)),
        )
        out += [r[0] for r in rows]
        if len(out) >= limit:
            break
    return out


def search_households(
    conn: sqlite3.Connection, query: str, *, limit: int = 20, offset: int = 0
) -> list[SearchHit]:
    """Households matching ``query``, best first; ``limit``/``offset`` page the result."""
    probes, compound, phone_filter = plan(query)
    want = max(0, offset) + max(0, limit)
    if want == 0:
        return []
    ranked: dict[int, tuple[int, str, str]] = {}  # rid: (rank, kind, key prefix that matched)

    def add(rids: list[int], rank: int, kind: str, prefix: str = "") -> None:
        for rid in rids:
            if rid not in ranked:
                ranked[rid] = (rank, kind, prefix)

    address_probe = next((p for p in probes if p.kind == "address"), None)
    if address_probe and compound:
        # "阳光小区3栋2单元501": the address within the named compound only.
        add(_compound_households(conn, compound, want, address_probe.prefix[2:]), 0, "address")
    else:
        # A scan may return the same household several times (two members match), so
        # over-fetch a little to still fill the page after de-duplication.
        fetch = want * 3 + 10
        for probe in probes:
            if probe.exact:
                add(_scan(conn, probe, fetch), 0, probe.kind, probe.prefix)
        if compound and not address_probe:
            add(_compound_households(conn, compound, want), 1, "compound")
        for probe in probes:
            if not probe.exact and len(ranked) < fetch:
                add(_scan(conn, probe, fetch), 2, probe.kind, probe.prefix)
    order = sorted(ranked.items(), key=lambda kv: kv[1][0])
    rids = [rid for rid, _ in order]
    households = households_by_rid(conn, rids[: want * 2 if phone_filter else want])
    hits = []
    for rid in rids:
        h = households.get(rid)
        if h is None:
            continue
        if phone_filter and not _phone_matches(conn, h.id, phone_filter):
            continue
        rank, kind, _ = ranked[rid]
        hits.append(SearchHit(h, rank, kind))
    page = hits[offset:want]
    return _with_members(conn, page, {rid: ranked[rid][2] for rid in rids}, phone_filter)


def _with_members(
    conn: sqlite3.Connection, hits: list[SearchHit], prefixes: dict[int, str], phone_tail: str
) -> list[SearchHit]:
    """Name the member who matched, for hits on a person's key (one query for the page): the
    household shows its head, and the person searched for may be someone else in it."""
    wanted = {
        h.household.id: (h.matched, prefixes.get(h.household.rid, ""))
        for h in hits
        if h.matched in _PERSON_KINDS
    }
    if not wanted:
        return hits
    marks = ",".join("?" * len(wanted))
    best: dict[str, tuple[int, str]] = {}  # household: (0 whole key, 1 beginning of one; name)
    for hid, name, phone in conn.execute(
        f"SELECT household_id, name, phone FROM members WHERE household_id IN ({marks})"
        " ORDER BY household_id, position",
        list(wanted),
    ):
        kind, prefix = wanted[hid]
        # Only the keys of the kind that matched: pinyin is the dear one, and rarely needed.
        if kind == "phone":
            phone_digits = digits(phone)
            if len(phone_digits) < 4 or not phone_digits.endswith(phone_tail):
                continue
            keys: tuple[str, ...] = ("t:" + phone_digits[-4:],)
        elif kind == "name" and is_plain_name(name):
            keys = ("n:" + name,)
        else:
            keys = name_terms(name)
        score = 0 if prefix in keys else 1 if any(k.startswith(prefix) for k in keys) else 2
        if score < 2 and score < best.get(hid, (2, ""))[0]:
            best[hid] = (score, name)
    return [replace(h, member=best.get(h.household.id, (2, ""))[1]) for h in hits]


_PERSON_KINDS = frozenset({"name", "pinyin", "initials", "phone"})


def _phone_matches(conn: sqlite3.Connection, household_id: str, tail: str) -> bool:
    for (phone,) in conn.execute(
        "SELECT phone FROM members WHERE household_id = ?", (household_id,)
    ):
        if digits(phone).endswith(tail):
            return True
    return False
