with

source as (

    {{ codeintel.optional_source('eval', 'pools') }}

),

renamed as (

    select
        ---------- ids
        cast(run_id as {{ dbt.type_string() }}) as run_id,
        cast(query_id as {{ dbt.type_string() }}) as query_id,
        cast(source as {{ dbt.type_string() }}) as channel,
        cast(rank as integer) as rank,
        cast(chunk_id as bigint) as chunk_id,

        ---------- numerics
        cast(score as float) as score

    from source

)

select * from renamed
