-- Marketing campaigns from the latest campaign list.
select
    cast(campaign_code as varchar) as campaign_code,
    cast(campaign_name as varchar) as campaign_name,
    cast(series_code as varchar) as series_code,
    cast(starts_on as date) as starts_on,
    cast(ends_on as date) as ends_on,
    cast(budget_yuan as float8) as budget_yuan
from {{ ref('stg_reference__campaigns') }}
