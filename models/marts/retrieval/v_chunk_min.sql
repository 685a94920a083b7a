with

chunks as (

    select * from {{ ref('stg_chunks') }}

),

final as (

    select
        chunks.chunk_id,
        chunks.uri,
        chunks.start_line,
        chunks.end_line,
        chunks.language,
        chunks.content_hash,
        chunks.preview
    from chunks

)

select * from final
