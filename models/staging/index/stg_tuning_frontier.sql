with

source as (

    {{ codeintel.optional_source('index', 'tuning_frontier') }}

),

renamed as (

    select
        ---------- ids
        cast(build_version as {{ dbt.type_string() }}) as build_version,
        cast(factory as {{ dbt.type_string() }}) as factory,
        cast(operating_point as {{ dbt.type_string() }}) as operating_point,
        cast(k as integer) as k,

        ---------- numerics
        cast(recall_at_k as double) as recall_at_k,
        cast(ms_per_query as double) as ms_per_query,

        ---------- flags
        cast(is_pareto as boolean) as is_pareto,
        cast(is_chosen as boolean) as is_chosen

    from source

)

select * from renamed
