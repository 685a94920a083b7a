with

source as (

    {{ codeintel.optional_source('index', 'faiss_idmap') }}

),

renamed as (

    select
        ---------- ids
        cast(faiss_row as bigint) as faiss_row,
        cast(faiss_id as bigint) as faiss_id,
        cast(chunk_id as bigint) as chunk_id,

        ---------- index
        cast(index_name as {{ dbt.type_string() }}) as index_name,
        cast(build_version as {{ dbt.type_string() }}) as build_version,

        ---------- timestamps
        cast(built_at as timestamp) as built_at

    from source

)

select * from renamed
