-- Dealers (经销商) from the latest dealer list.
select
    cast(dealer_code as varchar) as dealer_code,
    cast(dealer_name as varchar) as dealer_name,
    cast(dealer_group as varchar) as dealer_group,
    cast(province as varchar) as province,
    cast(city as varchar) as city,
    cast(city_tier as varchar) as city_tier,
    cast(region as varchar) as region
from {{ ref('stg_reference__dealers') }}
