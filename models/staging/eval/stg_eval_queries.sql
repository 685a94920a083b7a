{%- set positives = "coalesce(positives, " ~ codeintel.empty_list('bigint') ~ ")" -%}

with

source as (

    {{ codeintel.optional_source('eval', 'queries') }}

),

renamed as (

    select
        ---------- ids
        cast(query_id as {{ dbt.type_string() }}) as query_id,

        ---------- text
        cast(text as {{ dbt.type_string() }}) as query_text,
        cast(origin as {{ dbt.type_string() }}) as origin,
        cast(meta as {{ dbt.type_string() }}) as meta,

        ---------- judgements
        cast({{ positives }} as {{ codeintel.type_of('bigint[]') }}) as positive_chunk_ids,
        cast({{ codeintel.list_length(positives) }} as integer) as count_positives,

        ---------- stripped protocol: the positives grouped per target function
        {{ codeintel.json_typed('meta', '$.positive_groups', 'bigint[][]') }} as positive_groups

    from source

)

select * from renamed
