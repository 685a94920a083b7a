with

source as (

    {{ codeintel.optional_source('facts', 'scip_symbols') }}

),

renamed as (

    select
        ---------- ids
        cast(symbol as varchar) as symbol,
        cast(uri as varchar) as uri,

        ---------- text
        cast(display_name as varchar) as display_name,
        cast(kind as varchar) as kind,
        nullif(cast(documentation as varchar), '') as documentation

    from source

)

select * from renamed
