-- 话题策划 / 节假日专题: one row per quarter, tier (of the account on the publication day) and
-- kind of publication day: holiday (a public day off of the seed cn_public_holidays), campaign_launch
-- (a campaign's first playbook_launch_window_days days, not a holiday), ordinary (neither).
-- Posts with their loaded life; leads = leads whose source content is the post.
--   views_per_post = views / posts;  interaction_rate = engagements / views;
--   leads_per_post = leads / posts;  views_per_post_vs_ordinary = views_per_post / the same
--   quarter and tier's ordinary views_per_post (1.0 on the ordinary row);
--   avg_days_loaded = mean days from publication to the last loaded day: views are loaded life,
--   so posts near the data's end (a late-quarter holiday) have had less time to collect them.
with posts as (
    select * from {{ ref('int_playbook_posts') }}
),

summed as (
    select
        quarter_label,
        matrix_tier,
        day_kind,
        count(*) as posts,
        sum(views) as views,
        sum(engagements) as engagements,
        sum(leads) as leads,
        avg(days_loaded) as avg_days_loaded
    from posts
    group by quarter_label, matrix_tier, day_kind
),

ordinary as (
    select
        quarter_label,
        matrix_tier,
        views * 1.0 / nullif(posts, 0) as views_per_post
    from summed
    where day_kind = 'ordinary'
),

final as (
    select
        cast(summed.quarter_label as varchar) as quarter_label,
        cast(summed.matrix_tier as varchar) as matrix_tier,
        cast(summed.day_kind as varchar) as day_kind,
        cast(summed.posts as bigint) as posts,
        cast(summed.views as bigint) as views,
        cast(summed.engagements as bigint) as engagements,
        cast(summed.leads as bigint) as leads,
        cast(summed.avg_days_loaded as float8) as avg_days_loaded,
        cast(summed.views * 1.0 / nullif(summed.posts, 0) as float8) as views_per_post,
        cast(summed.engagements * 1.0 / nullif(summed.views, 0) as float8) as interaction_rate,
        cast(summed.leads * 1.0 / nullif(summed.posts, 0) as float8) as leads_per_post,
        cast(summed.views * 1.0 / nullif(summed.posts, 0) / nullif(ordinary.views_per_post, 0) as float8)
            as views_per_post_vs_ordinary
    from summed
    left join ordinary
        on summed.quarter_label = ordinary.quarter_label and summed.matrix_tier = ordinary.matrix_tier
)

select * from final
