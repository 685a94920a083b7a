with

source as (

    {{ codeintel.optional_source('index', 'index_versions') }}

),

renamed as (

    select
        ---------- ids
        coalesce(
            {{ codeintel.json_text('json', 'version') }},
            regexp_extract(replace(filename, chr(92), '/'), '/([^/]+)/version[.]json$', 1)
        ) as version,
        {{ codeintel.json_text('json', 'index_name') }} as index_name,

        ---------- index recipe
        {{ codeintel.json_text('json', 'factory') }} as factory,
        {{ codeintel.json_text('json', 'metric') }} as metric,
        try_cast({{ codeintel.json_text('json', 'dim') }} as integer) as dim,
        try_cast({{ codeintel.json_text('json', 'ntotal') }} as bigint) as ntotal,
        {{ codeintel.json_text('json', 'operating_point') }} as operating_point,

        ---------- provenance
        {{ codeintel.json_text('json', 'idmap_sha256') }} as idmap_sha256,
        {{ codeintel.json_text('json', 'chunks_fingerprint') }} as chunks_fingerprint,
        {{ codeintel.json_text('json', 'embedding_model') }} as embedding_model,
        {{ codeintel.json_text('json', 'device') }} as device,
        try_cast({{ codeintel.json_text('json', 'build_seconds') }} as double) as build_seconds,
        {{ codeintel.json_value('json', 'tuning') }} as tuning,

        ---------- timestamps
        try_cast({{ codeintel.json_text('json', 'created_at') }} as timestamp) as created_at,

        ---------- file
        cast(filename as {{ dbt.type_string() }}) as manifest_path

    from source

)

select * from renamed
