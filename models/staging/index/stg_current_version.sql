{#- the file's text without surrounding whitespace (tab, newline and carriage return too) -#}
{%- set version_text = codeintel.trim_chars(
    'cast(content as ' ~ dbt.type_string() ~ ')', "' ' || chr(9) || chr(10) || chr(13)"
) -%}

with

source as (

    {{ codeintel.optional_source('index', 'current_version') }}

),

renamed as (

    select
        ---------- ids
        {{ version_text }} as version,

        ---------- timestamps
        cast(last_modified as {{ codeintel.type_of('timestamp with time zone') }}) as published_at

    from source
    where {{ version_text }} <> ''

)

select * from renamed
