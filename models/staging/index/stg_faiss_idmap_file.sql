with

source as (

    {{ codeintel.optional_source('index', 'faiss_idmap_file') }}

),

renamed as (

    select
        ---------- ids
        sha256(content) as idmap_sha256,

        ---------- file
        cast(size as bigint) as size_bytes,
        cast(last_modified as timestamp with time zone) as modified_at

    from source

)

select * from renamed
