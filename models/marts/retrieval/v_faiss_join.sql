with

idmap as (

    select * from {{ ref('stg_faiss_idmap') }}

),

chunks as (

    select * from {{ ref('stg_chunks') }}

),

joined as (

    select
        idmap.faiss_row,
        idmap.faiss_id,
        idmap.chunk_id,
        idmap.index_name,
        idmap.build_version,
        idmap.built_at,
        chunks.uri,
        chunks.start_line,
        chunks.end_line,
        chunks.language,
        chunks.preview,
        chunks.chunk_id is not null as has_chunk
    from idmap
    left join chunks on idmap.chunk_id = chunks.chunk_id

)

select * from joined
