{%- set has_fingerprint = codeintel.source_has_column('eval', 'runs', 'queries_fingerprint') -%}
{%- set fingerprint = 'queries_fingerprint' if has_fingerprint else 'null' -%}

with

source as (

    {{ codeintel.optional_source('eval', 'runs') }}

),

renamed as (

    select
        ---------- ids
        cast(run_id as varchar) as run_id,
        cast(index_version as varchar) as index_version,
        cast(operating_point as varchar) as operating_point,

        ---------- settings
        cast(k as integer) as k,
        cast(n_queries as integer) as count_queries,
        cast(channels as varchar[]) as channels,
        cast(rrf_k0 as integer) as rrf_k0,
        cast({{ fingerprint }} as varchar) as queries_fingerprint,

        ---------- numerics
        cast(wall_seconds as double) as wall_seconds,
        metrics,

        ---------- timestamps
        cast(started_at as timestamp) as started_at

    from source

)

select * from renamed
