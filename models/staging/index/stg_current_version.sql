with

source as (

    {{ codeintel.optional_source('index', 'current_version') }}

),

renamed as (

    select
        ---------- ids
        trim(cast(content as varchar), ' ' || chr(9) || chr(10) || chr(13)) as version,

        ---------- timestamps
        cast(last_modified as timestamp with time zone) as published_at

    from source
    where trim(cast(content as varchar), ' ' || chr(9) || chr(10) || chr(13)) <> ''

)

select * from renamed
