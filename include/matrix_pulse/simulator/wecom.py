"""WeCom private domain (私域): consultants per dealer, their daily behaviour and the contacts they add.

One JSON object a day (``wecom_contacts/wecom_contacts_YYYYMMDD.json``) with the arrays
``members``, ``behavior`` and ``contacts`` of the customer-contact API export. Contacts
carry the channel QR ``state`` (``live_<直播间ID>``, ``post_<作品ID>``, ``cmp_<活动编码>``, empty or
unknown text) and sometimes the person's phone in ``remark_mobiles``; about a third of the
CRM leads with a real phone become a contact of a consultant of their dealer, so the
warehouse can match them by the keyed phone hash.

Its own generators (seeded by the run's seed and ``'wecom'``) keep every other file of the
landing folder byte-identical to a run without this source. Mess, when the run has any:
a truncated file (invalid JSON), a file whose contacts lack the required ``add_time`` key
(rejected, the key named), exact duplicate contact records (set aside), junk phones in
``remark_mobiles`` (loaded, flagged invalid) and trailing spaces in ``state``.

The truth counts what a correct ingest loads; see ``wecom_truth`` for the formulas.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from .landing import landing_time, quarter_label, stamp_landing_time
from .world import World

FOLDER = "wecom_contacts"
TABLES = ("wecom_members", "wecom_behavior", "wecom_contacts", "wecom_contact_mobiles")
COUNTS = ("new_apply_cnt", "new_contact_cnt", "chat_cnt", "message_cnt", "negative_feedback_cnt")
PHONE_JUNK = ("123", "无", "0000")
UNKNOWN_STATES = ("门店海报", "live_0", "qr_2019_old", "post_deleted")
LEAD_CONTACT_SHARE = 0.35  # of the leads with a real phone: added by a consultant of their dealer
HQ_MEMBERS = 2


@dataclass
class Consultant:
    userid: str
    dealer: int  # dealer row, -1 for HQ
    reply_minutes: float  # this consultant's typical reply time
    left_on: int | None  # day offset from which the member has status 4 (left)


@dataclass
class WecomTruth:
    """Per (quarter, dealer, userid): the figures of loaded rows; contacts keep their state and phones."""

    cells: dict[tuple[str, str, str], Counter] = field(default_factory=dict)
    contact_states: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # quarter, dealer, user, state
    contact_phones: set[str] = field(default_factory=set)  # normalised valid phones of loaded contacts


def _rng(seed: int, *parts: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(b"wecom"), *parts])


def consultants(world: World, seed: int) -> list[Consultant]:
    rng = _rng(seed, 0)
    n_days = len(world.days)
    out: list[Consultant] = []
    for i in range(len(world.dealers)):
        for k in range(int(rng.integers(2, 5))):
            slow = rng.random() < 0.15  # a few consultants answer in hours, not minutes
            left = int(rng.integers(n_days // 3, n_days)) if rng.random() < 0.1 and n_days > 3 else None
            out.append(
                Consultant(
                    f"gw{i:03d}{k:02d}", i, float(rng.uniform(150, 400) if slow else rng.uniform(2, 25)), left
                )
            )
    out += [Consultant(f"hq{k:02d}", -1, 10.0, None) for k in range(HQ_MEMBERS)]
    return out


def _phone_forms(phone: str, rng: np.random.Generator) -> str:
    form = int(rng.integers(0, 4))
    if form == 1:
        return f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    if form == 2:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    return phone


def _stranger_phone(rng: np.random.Generator) -> str:
    """A phone no CRM lead has: no lead's number starts with 197 (not in MOBILE_PREFIXES)."""
    return "197" + f"{int(rng.integers(0, 100_000_000)):08d}"


def plan_contacts(
    world: World, leads, lives, posts, people: list[Consultant], seed: int, rate: float
) -> dict[int, list[dict]]:
    """Contacts per day offset: the leads that become a contact plus walk-ins from the QR codes."""
    rng = _rng(seed, 1)
    n_days = len(world.days)
    start_day = (world.start - date(1970, 1, 1)).days
    by_dealer: dict[int, list[Consultant]] = {}
    for c in people:
        if c.dealer >= 0:
            by_dealer.setdefault(c.dealer, []).append(c)
    # QR codes by kind (campaign, live room, post), each kind as likely as the others
    states: list[list[str]] = [
        [f"cmp_{c}" for c in world.campaigns["campaign_code"]],
        [f"live_{x}" for x in lives.live_id[:400]],
        [f"post_{x}" for p in ("douyin", "kuaishou") for x in posts[p].post_id[:200]],
    ]
    plan: dict[int, list[dict]] = {}
    seen: set[tuple[str, str]] = set()  # (person, consultant): a consultant adds a person once

    def add(d: int, who: Consultant, mobiles: list[str], person: str) -> None:
        if (who.left_on is not None and d >= who.left_on) or (person, who.userid) in seen:
            return
        seen.add((person, who.userid))
        u = rng.random()
        pool = states[int(rng.integers(0, 3))]
        state = (
            ""
            if u < 0.25
            else UNKNOWN_STATES[int(rng.integers(0, 4))]
            if u < 0.32
            else str(pool[int(rng.integers(0, len(pool)))])
        )
        sec = (start_day + d) * 86_400 + int(rng.integers(9 * 3600, 21 * 3600)) - 8 * 3600
        plan.setdefault(d, []).append(
            {
                "external_userid": "wm" + hashlib.sha1(f"{seed}:{person}".encode()).hexdigest()[:24],
                "userid": who.userid,
                "add_time": sec,
                "add_way": int(rng.choice([1, 2, 3, 201])),
                "state": state,
                "remark_mobiles": mobiles,
            }
        )

    created_day = leads.created // 86_400 - start_day
    for i in np.nonzero(~leads.phone_is_junk & (rng.random(len(leads.created)) < LEAD_CONTACT_SHARE))[0]:
        d = int(created_day[i]) + int(rng.integers(0, 3))
        team = by_dealer.get(int(leads.dealer_idx[i]))
        if not team or not 0 <= d < n_days:
            continue
        add(
            d,
            team[int(rng.integers(0, len(team)))],
            [_phone_forms(str(leads.phone[i]), rng)],
            f"p{leads.person[i]}",
        )
    for d in range(n_days):
        for team in by_dealer.values():
            for who in team:
                for k in range(int(rng.poisson(0.4))):
                    u = rng.random()
                    mobiles = (
                        []
                        if u < 0.6
                        else [_stranger_phone(rng)]
                        if u < 0.9
                        else [PHONE_JUNK[int(rng.integers(0, 3))] if rate > 0 else _stranger_phone(rng)]
                    )
                    add(d, who, mobiles, f"s{d}:{who.userid}:{k}")
    return plan


def day_document(
    world: World, people: list[Consultant], contacts: list[dict], d: int, seed: int
) -> dict[str, list[dict]]:
    """The clean export of day ``d``: members, behaviour consistent with the day's contacts, contacts."""
    rng = _rng(seed, 2, d)
    codes = world.column("dealers", "dealer_code")
    stat_time = ((world.days[d] - date(1970, 1, 1)).days * 86_400) - 8 * 3600
    added = Counter(c["userid"] for c in contacts)
    members, behavior = [], []
    for c in people:
        gone = c.left_on is not None and d >= c.left_on
        members.append({"userid": c.userid, "department": "HQ" if c.dealer < 0 else str(codes[c.dealer]),
                        "status": 4 if gone else 1})  # fmt: skip
        if gone or c.dealer < 0:
            continue
        chats = int(rng.poisson(3))
        row = {
            "userid": c.userid,
            "stat_time": stat_time,
            "new_apply_cnt": added[c.userid] + int(rng.poisson(0.3)),
            "new_contact_cnt": added[c.userid],
            "chat_cnt": chats,
            "message_cnt": chats * int(rng.integers(2, 7)),
        }
        if chats:  # absent on a day without chats, as the API leaves them out
            row["reply_percentage"] = round(float(rng.uniform(55, 100)), 1)
            row["avg_reply_time"] = round(float(c.reply_minutes * rng.uniform(0.7, 1.3)), 1)
        row["negative_feedback_cnt"] = int(rng.binomial(chats, 0.03))
        behavior.append(row)
    return {"members": members, "behavior": behavior, "contacts": contacts}


def plan_defects(n_days: int, seed: int, rate: float) -> dict[int, str]:
    """File-level mess per day offset: each kind at least once when the run has mess."""
    if rate <= 0 or n_days < 4:
        return {}
    rng = _rng(seed, 3)
    days = rng.choice(np.arange(1, n_days), size=2, replace=False)
    return {int(days[0]): "invalid_json", int(days[1]): "missing_required_column"}


def mess_rows(doc: dict, rng: np.random.Generator, rate: float) -> tuple[list[dict], Counter]:
    """Row mess in the contacts: exact duplicates (set aside), trailing spaces in state, junk phones."""
    defects: Counter = Counter()
    out: list[dict] = []
    set_aside: list[dict] = []
    for c in doc["contacts"]:
        if rate > 0 and c["state"] and rng.random() < rate * 3:
            c["state"] += " "
            defects["trailing_spaces"] += 1
        if rate > 0 and rng.random() < rate * 3:
            c["remark_mobiles"] = [*c["remark_mobiles"], PHONE_JUNK[int(rng.integers(0, 3))]]
        defects["phone_junk"] += sum(1 for m in c["remark_mobiles"] if m in PHONE_JUNK)
        out.append(c)
        if rate > 0 and rng.random() < rate * 3:
            out.append(c)  # the same record twice in a row, as an API page boundary repeats it
            set_aside.append({"table": "wecom_contacts", "row": len(out), "reason": "exact_duplicate_row",
                              "duplicate_of": len(out) - 1})  # fmt: skip
            set_aside += [
                {"table": "wecom_contact_mobiles", "row": len(out), "reason": "exact_duplicate_row",
                 "duplicate_of": len(out) - 1} for _ in c["remark_mobiles"]
            ]  # fmt: skip
            defects["exact_duplicate_row"] += 1
    doc["contacts"] = out
    return set_aside, defects


def digits_of(phone: str) -> str | None:
    d = "".join(ch for ch in phone if ch.isdigit())
    d = d[2:] if len(d) == 13 and d.startswith("86") else d
    return d if len(d) == 11 and d[0] == "1" and d[1] in "3456789" else None


def tables_entry(doc: dict, rejected: bool, readable: bool, set_aside: list[dict]) -> dict[str, dict]:
    """rows read / loaded and count sums per raw table, as the manifest's ``tables`` holds them."""
    aside = Counter(s["table"] for s in set_aside)
    rows = {
        "wecom_members": doc["members"],
        "wecom_behavior": doc["behavior"],
        "wecom_contacts": doc["contacts"],
        "wecom_contact_mobiles": [m for c in doc["contacts"] for m in c.get("remark_mobiles") or []],
    }
    out = {}
    for t, r in rows.items():
        sums = {}
        if t == "wecom_behavior":
            sums = {k: 0 if rejected else sum(int(x[k]) for x in r) for k in COUNTS}
        out[t] = {
            "rows_read": len(r) if readable else 0,
            "rows_loaded": 0 if rejected else len(r) - aside[t],
            "sums": sums,
        }
    return out


def dumps(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_files(
    out: Path, world: World, leads, lives, posts, seed: int, rate: float
) -> tuple[list[dict], WecomTruth]:
    """Write one file a day; return the manifest entries and the truth of what loads."""

    people = consultants(world, seed)
    dealer_of = {c.userid: c.dealer for c in people}
    codes = world.dealers["dealer_code"].to_numpy(object)
    plan = plan_contacts(world, leads, lives, posts, people, seed, rate)  # a clean run: no junk phone
    defects = plan_defects(len(world.days), seed, rate)
    truth = WecomTruth()
    files: list[dict] = []
    for d, day in enumerate(world.days):
        doc = day_document(world, people, plan.get(d, []), d, seed)
        set_aside, row_defects = mess_rows(doc, _rng(seed, 4, d), rate)
        kind = defects.get(d)
        payload = doc
        if kind == "missing_required_column":
            payload = {
                **doc,
                "contacts": [{k: v for k, v in c.items() if k != "add_time"} for c in doc["contacts"]],
            }
        data = dumps(payload)
        if kind == "invalid_json":
            data = data[: max(1, int(len(data) * 0.6))]
        rel = Path(FOLDER) / f"{FOLDER}_{day:%Y%m%d}.json"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
        landed = day + timedelta(days=1)
        landed_at = landing_time(landed, day, _rng(seed, 5, d))
        stamp_landing_time(out / rel, landed_at)
        rejected = kind is not None
        reason = {
            "invalid_json": "invalid_json",
            "missing_required_column": "missing_required_column: add_time",
        }
        tables = tables_entry(doc, rejected, kind != "invalid_json", set_aside)
        files.append(
            {
                "source": FOLDER, "path": rel.as_posix(), "data_date": day.isoformat(), "delivery": 1,
                "final": True, "landed_on": landed.isoformat(), "landed_at": landed_at.isoformat(),
                "file_defects": [kind] if kind else [], "rejected": rejected, "reject_reason": reason.get(kind),
                "rows_read": sum(t["rows_read"] for t in tables.values()),
                "rows_set_aside": [] if rejected else set_aside,
                "row_defects": {} if rejected else {k: v for k, v in sorted(row_defects.items()) if v},
                "extra_columns": [], "tables": tables,
                "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data),
            }
        )  # fmt: skip
        if rejected:
            continue
        quarter = quarter_label(day)
        for b in doc["behavior"]:
            code = str(codes[dealer_of[b["userid"]]])
            cell = truth.cells.setdefault((quarter, code, b["userid"]), Counter())
            cell["chats"] += b["chat_cnt"]
            cell["messages"] += b["message_cnt"]
            cell["negative_feedback"] += b["negative_feedback_cnt"]
            if "reply_percentage" in b:
                cell["chats_with_reply_figures"] += b["chat_cnt"]
                cell["replied_chats_x100"] += b["reply_percentage"] * b["chat_cnt"]
                cell["reply_minutes_x_chats"] += b["avg_reply_time"] * b["chat_cnt"]
        for c in {id(c): c for c in doc["contacts"]}.values():  # a duplicated record loads once
            code = str(codes[dealer_of[c["userid"]]])
            truth.cells.setdefault((quarter, code, c["userid"]), Counter())["new_contacts"] += 1
            truth.contact_states.append((quarter, code, c["userid"], c["state"].strip()))
            truth.contact_phones.update(p for p in map(digits_of, c["remark_mobiles"]) if p)
    return files, truth


def attribution(state: str, known: dict[str, set[str]]) -> str:
    """live / post / campaign when the state names a known one, else unattributed (the mart's rule)."""
    for prefix, kind in (("live_", "live"), ("post_", "post"), ("cmp_", "campaign")):
        if state.startswith(prefix) and state[len(prefix) :] in known[kind]:
            return kind
    return "unattributed"


def wecom_truth(truth: WecomTruth, known: dict[str, set[str]], st: dict | None, leads, world: World) -> dict:
    """Manifest truth of the two WeCom marts.

    consultants[quarter][dealer][userid]: new_contacts (contact rows loaded), chats and
    messages (sums), negative_feedback, reply_rate = sum(reply_percentage/100 * chat_cnt) /
    sum(chat_cnt) over days that report it, avg_reply_minutes = sum(avg_reply_time * chat_cnt)
    / the same chats, contacts_from_{live,post,campaign,unattributed}.
    leads[quarter][dealer]: valid leads by creation quarter and their funnel, split by whether
    the lead's phone is among the remark_mobiles of a loaded contact.
    """

    out: dict = {"consultants": {}, "leads": {}}
    attributed = Counter((q, dl, u, attribution(s, known)) for q, dl, u, s in truth.contact_states)
    for (q, dl, u), c in sorted(truth.cells.items()):
        chats = c["chats_with_reply_figures"]
        row = {
            "new_contacts": c["new_contacts"],
            "chats": c["chats"],
            "messages": c["messages"],
            "negative_feedback": c["negative_feedback"],
            "chats_with_reply_figures": chats,
            "reply_rate": c["replied_chats_x100"] / 100 / chats if chats else None,
            "avg_reply_minutes": c["reply_minutes_x_chats"] / chats if chats else None,
        }
        row |= {
            f"contacts_from_{k}": attributed[(q, dl, u, k)]
            for k in ("live", "post", "campaign", "unattributed")
        }
        out["consultants"].setdefault(q, {}).setdefault(dl, {})[u] = row
    if st is None:
        return out
    codes = world.dealers["dealer_code"].to_numpy(object)
    lead = st["lead"]
    contact = np.array(
        [(digits_of(str(leads.phone[i])) or "") in truth.contact_phones for i in lead], dtype=bool
    )
    for k in np.nonzero(st["valid"])[0]:
        q = quarter_label(world.days[int(st["created_day"][k])])
        cell = out["leads"].setdefault(q, {}).setdefault(str(codes[st["dealer"][k]]), {})
        group = "wecom" if contact[k] else "other"
        for stage, name in (("valid", "valid_leads"), ("arrived", "arrivals"), ("test_drive", "test_drives"),
                            ("ordered", "orders"), ("delivered", "deliveries")):  # fmt: skip
            key = f"{name}_{group}"
            cell[key] = cell.get(key, 0) + int(st[stage][k])
    return out
