"""The WeCom (企业微信) private-domain export in the input contract: ``wecom_contacts_YYYYMMDD.json``.

Declared here to keep ``matrix_pulse.sources`` (which registers these) short; the rules are
the contract's (``matrix_pulse.contract``).
"""

from __future__ import annotations

from matrix_pulse.contract import Column as C
from matrix_pulse.contract import Source

# WeCom (企业微信) private domain: one JSON object a day feeds four raw tables. The
# contacts' remark_mobiles list is exploded into its own table (one row per listed phone),
# so every number goes through the same phone normalisation and keyed hash as CRM phones
# and a contact matches the leads of the same person by phone_hash.
_WECOM = {"file_prefix": "wecom_contacts"}
WECOM_SOURCES: tuple[Source, ...] = (
    Source(
        name="wecom_members",
        fmt="json",
        encoding=None,
        raw_table="wecom_members",
        group="crm",
        staging_group="wecom",
        json_path="members",
        key=("userid",),
        notes="File wecom_contacts_YYYYMMDD.json, key 'members': the full member list that day.",
        extra=_WECOM,
        columns=(
            C("userid", "userid", "id"),
            C("department", "department", "id"),
            C("status", "member_status", "code"),
        ),
    ),
    Source(
        name="wecom_behavior",
        fmt="json",
        encoding=None,
        raw_table="wecom_behavior",
        group="crm",
        staging_group="wecom",
        json_path="behavior",
        key=("userid",),
        notes="File wecom_contacts_YYYYMMDD.json, key 'behavior': one consultant's day. "
        "reply_percentage and avg_reply_time are absent on a day without chats.",
        extra=_WECOM,
        columns=(
            C("userid", "userid", "id"),
            C("stat_time", "stat_time", "unix"),
            C("new_apply_cnt", "new_apply_cnt", "count"),
            C("new_contact_cnt", "new_contact_cnt", "count"),
            C("chat_cnt", "chat_cnt", "count"),
            C("message_cnt", "message_cnt", "count"),
            C("reply_percentage", "reply_percentage", "number", required=False),
            C("avg_reply_time", "avg_reply_minutes", "number", required=False),
            C("negative_feedback_cnt", "negative_feedback_cnt", "count"),
        ),
    ),
    Source(
        name="wecom_contacts",
        fmt="json",
        encoding=None,
        raw_table="wecom_contacts",
        group="crm",
        staging_group="wecom",
        json_path="contacts",
        key=("external_userid_hash", "userid"),
        notes="File wecom_contacts_YYYYMMDD.json, key 'contacts': contacts added on D. "
        "external_userid is kept only as a keyed hash; state is free text (live_/post_/cmp_ or empty).",
        extra={**_WECOM, "ignore": ("remark_mobiles",)},
        columns=(
            C("external_userid", "external_userid", "hashed_id"),
            C("userid", "userid", "id"),
            C("add_time", "added_at", "unix"),
            C("add_way", "add_way", "code"),
            C("state", "state", "text", required=False),
        ),
    ),
    Source(
        name="wecom_contact_mobiles",
        fmt="json",
        encoding=None,
        raw_table="wecom_contact_mobiles",
        group="crm",
        staging_group="wecom",
        json_path="contacts",
        key=("external_userid_hash", "userid"),
        notes="File wecom_contacts_YYYYMMDD.json, key 'contacts', list 'remark_mobiles' exploded: one "
        "row per listed phone (source_row is the contact's row). Junk numbers are kept, flagged invalid.",
        extra={**_WECOM, "explode": "remark_mobiles", "ignore": ("add_time", "add_way", "state")},
        columns=(
            C("external_userid", "external_userid", "hashed_id"),
            C("userid", "userid", "id"),
            C("remark_mobiles", "remark_mobile", "phone"),
        ),
    ),
)
