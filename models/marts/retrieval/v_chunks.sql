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
        chunks.start_byte,
        chunks.end_byte,
        chunks.end_line - chunks.start_line + 1 as count_lines,
        chunks.language,
        chunks.preview,
        chunks.content,
        chunks.content_hash,
        chunks.symbols,
        chunks.enclosing_symbol,
        chunks.embed_length,
        chunks.is_truncated,
        chunks.embedding_dim,
        chunks.embedding
    from chunks

)

select * from final
