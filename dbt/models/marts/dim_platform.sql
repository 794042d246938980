-- The platforms of the matrix (seed), keyed by the platform code used everywhere.
select
    cast(platform as varchar) as platform,
    cast(platform_name_cn as varchar) as platform_name_cn
from {{ ref('platforms') }}
