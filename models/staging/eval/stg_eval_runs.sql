{%- set source_columns = codeintel.source_column_names('eval', 'runs') -%}

with

source as (

    {{ codeintel.optional_source('eval', 'runs') }}

),

renamed as (

    select
        ---------- ids
        cast(run_id as {{ dbt.type_string() }}) as run_id,
        cast(index_version as {{ dbt.type_string() }}) as index_version,
        cast(operating_point as {{ dbt.type_string() }}) as operating_point,

        ---------- settings
        cast(k as integer) as k,
        cast(n_queries as integer) as count_queries,
        cast(channels as {{ codeintel.type_of('varchar[]') }}) as channels,
        cast(rrf_k0 as integer) as rrf_k0,

        ---------- numerics
        cast(wall_seconds as double) as wall_seconds,
        metrics,

        ---------- query set (null in runs recorded before query_ids existed)
        {% if 'query_ids' in source_columns -%}
        cast(query_ids as {{ codeintel.type_of('varchar[]') }}) as query_ids,
        {%- else -%}
        cast(null as {{ codeintel.type_of('varchar[]') }}) as query_ids,
        {%- endif %}
        {% if 'queries_fingerprint' in source_columns -%}
        cast(queries_fingerprint as {{ dbt.type_string() }}) as queries_fingerprint,
        {%- else -%}
        cast(null as {{ dbt.type_string() }}) as queries_fingerprint,
        {%- endif %}

        ---------- timestamps
        cast(started_at as timestamp) as started_at

    from source

)

select * from renamed
