-- 话题策划: the top posts published on holidays and on campaign launch days, per quarter and kind
-- of day: the playbook_top_topic_posts posts with the most loaded-life views (ties: platform,
-- post id), with their title, tier on the publication day, engagements and leads.
with posts as (
    select
        posts.*,
        content.title
    from {{ ref('int_playbook_posts') }} as posts
    inner join {{ ref('dim_content') }} as content
        on posts.platform = content.platform and posts.post_id = content.post_id
    where posts.day_kind <> 'ordinary'
),

ranked as (
    select
        *,
        row_number() over (partition by quarter_label, day_kind order by views desc, platform, post_id) as post_rank
    from posts
),

final as (
    select
        cast(quarter_label as varchar) as quarter_label,
        cast(day_kind as varchar) as day_kind,
        cast(post_rank as integer) as post_rank,
        cast(platform as varchar) as platform,
        cast(post_id as varchar) as post_id,
        cast(account_id as varchar) as account_id,
        cast(matrix_tier as varchar) as matrix_tier,
        cast(region as varchar) as region,
        cast(title as varchar) as title,
        cast(published_on as date) as published_on,
        cast(views as bigint) as views,
        cast(engagements as bigint) as engagements,
        cast(engagements * 1.0 / nullif(views, 0) as float8) as interaction_rate,
        cast(leads as bigint) as leads
    from ranked
    where post_rank <= {{ var('playbook_top_topic_posts') }}
)

select * from final
