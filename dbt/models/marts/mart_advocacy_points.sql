-- 全员矩阵 points: one row per period (month and quarter), 高管/员工 account, and the tier and
-- dealer it had when it published. points = posts x per_post + views / 1000 x per_1000_views
-- + engagements x per_engagement (dbt vars playbook_points_*, carried as columns so the pack
-- prints the rule it used). Each post counts in its publication month/quarter with its loaded
-- life. Ranks: within the dealer (HQ accounts: region 总部) and over all accounts (HQ board).
with posts as (
    select * from {{ ref('int_playbook_posts') }}
    where matrix_tier in ('{{ var("playbook_advocacy_tiers") | join("', '") }}')
),

periods as (
    select 'month' as period_type, month_label as period_label, posts.* from posts
    union all
    select 'quarter' as period_type, quarter_label as period_label, posts.* from posts
),

summed as (
    select
        period_type,
        period_label,
        platform,
        account_id,
        matrix_tier,
        dealer_code,
        region,
        count(*) as posts,
        sum(views) as views,
        sum(engagements) as engagements
    from periods
    group by period_type, period_label, platform, account_id, matrix_tier, dealer_code, region
),

scored as (
    select
        summed.*,
        posts * {{ var('playbook_points_per_post') }}
        + views / 1000.0 * {{ var('playbook_points_per_1000_views') }}
        + engagements * {{ var('playbook_points_per_engagement') }} as points
    from summed
),

final as (
    select
        cast(period_type as varchar) as period_type,
        cast(period_label as varchar) as period_label,
        cast(platform as varchar) as platform,
        cast(account_id as varchar) as account_id,
        cast(matrix_tier as varchar) as matrix_tier,
        cast(dealer_code as varchar) as dealer_code,
        cast(region as varchar) as region,
        cast(posts as bigint) as posts,
        cast(views as bigint) as views,
        cast(engagements as bigint) as engagements,
        cast(points as float8) as points,
        cast(rank() over (
            partition by period_type, period_label, coalesce(dealer_code, '总部') order by points desc
        ) as bigint) as rank_in_dealer,
        cast(rank() over (partition by period_type, period_label order by points desc) as bigint) as rank_overall,
        cast({{ var('playbook_points_per_post') }} as float8) as points_per_post,
        cast({{ var('playbook_points_per_1000_views') }} as float8) as points_per_1000_views,
        cast({{ var('playbook_points_per_engagement') }} as float8) as points_per_engagement
    from scored
)

select * from final
