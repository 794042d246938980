"""The two WeCom marts for the report fixture (tests/report/fixture_marts.py): a few consultants
per dealer with fixed figures (one slow dealer, so the reply-time rule fires), and the lead
funnel derived from the fixture's own fct_leads (every third valid lead is a WeCom contact),
so the 私域运营 section has numbers that add up."""

from __future__ import annotations

import duckdb

WECOM_MARTS_SQL = """
create table marts.mart_wecom_consultant_period as
with quarters as (select distinct quarter_label from marts.dim_date),
  people as (
    select d.dealer_code, d.region, k, d.dealer_code || '-gw' || k as userid,
           row_number() over (order by d.dealer_code) as n
    from marts.dim_dealer d cross join range(1, 3) as t(k)),
  base as (
    select q.quarter_label, p.dealer_code, p.region, p.userid,
           (20 + (p.n * 7) % 30)::bigint as contacts_from_live, (10 + (p.n * 5) % 20)::bigint as contacts_from_post,
           (5 + (p.n * 3) % 10)::bigint as contacts_from_campaign, (8 + (p.n * 11) % 9)::bigint as contacts_unattributed,
           (150 + (p.n * 13) % 90)::bigint as chats, (p.n % 4)::bigint as negative_feedback,
           0.6 + ((p.n * 17) % 40) / 100.0 as reply_rate,
           case when p.n <= 2 then 95.0 + p.k else 5.0 + (p.n * 7) % 20 end as avg_reply_minutes
    from quarters q cross join people p)
select quarter_label, dealer_code, region, userid,
       contacts_from_live + contacts_from_post + contacts_from_campaign + contacts_unattributed as new_contacts,
       chats, chats * 4 as messages, negative_feedback, chats - 10 as chats_with_reply_figures,
       reply_rate, avg_reply_minutes, contacts_from_live, contacts_from_post, contacts_from_campaign,
       contacts_unattributed
from base;

create table marts.mart_wecom_lead_funnel as
with marked as (
    select d.quarter_label, l.dealer_code, l.region, l.arrived_at is not null as arrived,
           l.test_drive_at is not null as test_drove, l.ordered_at is not null as ordered,
           l.delivered_at is not null as delivered,
           row_number() over (order by l.lead_key) % 3 = 0 as wecom
    from marts.fct_leads l join marts.dim_date d on d.date_day = l.created_date
    where l.is_valid)
select quarter_label, coalesce(dealer_code, 'none') as dealer_code, min(region) as region,
       count(*) as valid_leads, count(*) filter (where wecom) as valid_leads_wecom,
       count(*) filter (where not wecom) as valid_leads_other,
       count(*) filter (where wecom) / count(*) as wecom_share,
       count(*) filter (where wecom and arrived) as arrivals_wecom,
       count(*) filter (where wecom and test_drove) as test_drives_wecom,
       count(*) filter (where wecom and ordered) as orders_wecom,
       count(*) filter (where wecom and delivered) as deliveries_wecom,
       count(*) filter (where not wecom and arrived) as arrivals_other,
       count(*) filter (where not wecom and test_drove) as test_drives_other,
       count(*) filter (where not wecom and ordered) as orders_other,
       count(*) filter (where not wecom and delivered) as deliveries_other
from marked group by all;
"""


def add_wecom_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(WECOM_MARTS_SQL)
