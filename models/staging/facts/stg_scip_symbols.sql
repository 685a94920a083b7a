with

source as (

    {{ codeintel.optional_source('facts', 'scip_symbols') }}

),

renamed as (

    select
        ---------- ids
        cast(symbol as {{ dbt.type_string() }}) as symbol,
        cast(uri as {{ dbt.type_string() }}) as uri,

        ---------- text
        cast(display_name as {{ dbt.type_string() }}) as display_name,
        cast(kind as {{ dbt.type_string() }}) as kind,
        nullif(cast(documentation as {{ dbt.type_string() }}), '') as documentation

    from source

)

select * from renamed
