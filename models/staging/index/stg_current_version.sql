with

source as (

    {{ codeintel.optional_source('index', 'current_version') }}

),

renamed as (

    select
        ---------- ids
        trim(cast(content as varchar)) as version,

        ---------- timestamps
        cast(last_modified as timestamp with time zone) as published_at

    from source
    where trim(cast(content as varchar)) <> ''

)

select * from renamed
