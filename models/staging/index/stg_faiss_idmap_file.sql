with

source as (

    {{ codeintel.optional_source('index', 'faiss_idmap_file') }}

),

renamed as (

    select
        ---------- ids
        {{ codeintel.sha256_hex('content') }} as idmap_sha256,

        ---------- file
        cast(size as bigint) as size_bytes,
        cast(last_modified as {{ codeintel.type_of('timestamp with time zone') }}) as modified_at

    from source

)

select * from renamed
