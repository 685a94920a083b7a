with

source as (

    {{ codeintel.optional_source('index', 'index_versions') }}

),

renamed as (

    select
        ---------- ids
        coalesce(
            json ->> 'version',
            regexp_extract(replace(filename, '\', '/'), '/([^/]+)/version\.json$', 1)
        ) as version,
        json ->> 'index_name' as index_name,

        ---------- index recipe
        json ->> 'factory' as factory,
        json ->> 'metric' as metric,
        try_cast(json ->> 'dim' as integer) as dim,
        try_cast(json ->> 'ntotal' as bigint) as ntotal,
        json ->> 'operating_point' as operating_point,

        ---------- provenance
        json ->> 'idmap_sha256' as idmap_sha256,
        json ->> 'chunks_fingerprint' as chunks_fingerprint,
        json ->> 'embedding_model' as embedding_model,
        json ->> 'device' as device,
        try_cast(json ->> 'build_seconds' as double) as build_seconds,
        cast(json -> 'tuning' as json) as tuning,

        ---------- timestamps
        try_cast(json ->> 'created_at' as timestamp) as created_at,

        ---------- file
        cast(filename as varchar) as manifest_path

    from source

)

select * from renamed
