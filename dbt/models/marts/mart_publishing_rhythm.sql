-- 周更计划: one row per quarter and roster account (by its tier and dealer on the quarter's last
-- reported day, like the account counts elsewhere). Weeks start on Monday; the quarter's weeks
-- are the weeks holding its reported days (edge weeks count only their days in the quarter).
-- weekly_target from the dbt var playbook_weekly_targets; a week meets it when the account
-- published at least that many posts in it. longest_silent_streak_weeks: most consecutive
-- weeks without a post; went_silent: posted in the quarter but not in its last
-- playbook_went_silent_weeks weeks. posts_mon..posts_sun: the weekday slots used.
with posts as (
    select * from {{ ref('int_playbook_posts') }}
),

days as (
    select
        dates.quarter_label,
        dates.date_day,
        cast(date_trunc('week', dates.date_day) as date) as week_start
    from {{ ref('dim_date') }} as dates
    inner join (
        select
            min(date_day) as first_day,
            max(date_day) as last_day
        from {{ ref('fct_content_daily') }}
    ) as bounds on dates.date_day between bounds.first_day and bounds.last_day
),

weeks as (
    select
        quarter_label,
        week_start,
        row_number() over (partition by quarter_label order by week_start) as week_no,
        count(*) over (partition by quarter_label) as weeks_in_quarter
    from (select distinct quarter_label, week_start from days) as distinct_weeks
),

quarter_ends as (
    select
        quarter_label,
        max(date_day) as last_day
    from days
    group by quarter_label
),

accounts as (
    select
        quarter_ends.quarter_label,
        versions.platform,
        versions.account_id,
        versions.matrix_tier,
        versions.dealer_code,
        versions.region
    from quarter_ends
    inner join {{ ref('dim_account') }} as versions
        on quarter_ends.last_day >= versions.valid_from and quarter_ends.last_day < versions.valid_to
),

targets as (
    {%- for tier, target in var('playbook_weekly_targets').items() %}
        select '{{ tier }}' as matrix_tier, {{ target }} as weekly_target
        {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
),

week_posts as (
    select
        quarter_label,
        week_start,
        platform,
        account_id,
        count(*) as posts
    from posts
    group by quarter_label, week_start, platform, account_id
),

account_weeks as (
    select
        accounts.quarter_label,
        accounts.platform,
        accounts.account_id,
        weeks.week_no,
        weeks.weeks_in_quarter,
        coalesce(week_posts.posts, 0) as posts
    from accounts
    inner join weeks on accounts.quarter_label = weeks.quarter_label
    left join week_posts
        on
            accounts.quarter_label = week_posts.quarter_label
            and weeks.week_start = week_posts.week_start
            and accounts.platform = week_posts.platform
            and accounts.account_id = week_posts.account_id
),

-- runs of silent weeks: consecutive week numbers share week_no - row_number()
silent_runs as (
    select
        quarter_label,
        platform,
        account_id,
        count(*) as run_weeks
    from (
        select
            *,
            week_no - row_number() over (
                partition by quarter_label, platform, account_id order by week_no
            ) as run_id
        from account_weeks
        where posts = 0
    ) as silent
    group by quarter_label, platform, account_id, run_id
),

longest as (
    select
        quarter_label,
        platform,
        account_id,
        max(run_weeks) as longest_silent_streak_weeks
    from silent_runs
    group by quarter_label, platform, account_id
),

weekdays as (
    select
        quarter_label,
        platform,
        account_id,
        {%- for name in ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] %}
            count(*) filter (where iso_day_of_week = {{ loop.index }}) as posts_{{ name }}
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from posts
    group by quarter_label, platform, account_id
),

per_account as (
    select
        account_weeks.quarter_label,
        account_weeks.platform,
        account_weeks.account_id,
        max(account_weeks.weeks_in_quarter) as weeks_in_quarter,
        sum(account_weeks.posts) as posts,
        count(*) filter (where account_weeks.posts > 0) as weeks_posted,
        count(*) filter (where account_weeks.posts >= targets.weekly_target) as weeks_met_target,
        max(account_weeks.weeks_in_quarter)
        - coalesce(max(case when account_weeks.posts > 0 then account_weeks.week_no end), 0)
            as trailing_silent_weeks
    from account_weeks
    inner join accounts
        on
            account_weeks.quarter_label = accounts.quarter_label
            and account_weeks.platform = accounts.platform
            and account_weeks.account_id = accounts.account_id
    left join targets on accounts.matrix_tier = targets.matrix_tier
    group by account_weeks.quarter_label, account_weeks.platform, account_weeks.account_id
),

final as (
    select
        cast(accounts.quarter_label as varchar) as quarter_label,
        cast(accounts.platform as varchar) as platform,
        cast(accounts.account_id as varchar) as account_id,
        cast(accounts.matrix_tier as varchar) as matrix_tier,
        cast(accounts.dealer_code as varchar) as dealer_code,
        cast(accounts.region as varchar) as region,
        cast(targets.weekly_target as integer) as weekly_target,
        cast(per_account.weeks_in_quarter as integer) as weeks_in_quarter,
        cast(per_account.posts as bigint) as posts,
        cast(per_account.weeks_posted as integer) as weeks_posted,
        cast(per_account.weeks_met_target as integer) as weeks_met_target,
        cast(coalesce(longest.longest_silent_streak_weeks, 0) as integer) as longest_silent_streak_weeks,
        cast(per_account.trailing_silent_weeks as integer) as trailing_silent_weeks,
        cast(per_account.posts = 0 as boolean) as is_silent,
        cast(
            per_account.posts > 0
            and per_account.trailing_silent_weeks >= {{ var('playbook_went_silent_weeks') }} as boolean
        ) as went_silent,
        {%- for name in ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] %}
            cast(coalesce(weekdays.posts_{{ name }}, 0) as bigint) as posts_{{ name }}
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from accounts
    inner join per_account
        on
            accounts.quarter_label = per_account.quarter_label
            and accounts.platform = per_account.platform
            and accounts.account_id = per_account.account_id
    left join targets on accounts.matrix_tier = targets.matrix_tier
    left join longest
        on
            accounts.quarter_label = longest.quarter_label
            and accounts.platform = longest.platform
            and accounts.account_id = longest.account_id
    left join weekdays
        on
            accounts.quarter_label = weekdays.quarter_label
            and accounts.platform = weekdays.platform
            and accounts.account_id = weekdays.account_id
)

select * from final
