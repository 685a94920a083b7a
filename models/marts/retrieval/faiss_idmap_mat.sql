{{
    config(
        materialized=('checksum_table' if target.type == 'duckdb' else 'table'),
        checksum_model='int_faiss_idmap_checksum',
        checksum_column='source_checksum',
        indexes=[
            {'columns': ['chunk_id']},
            {'columns': ['faiss_id']},
        ],
    )
}}

with

idmap as (

    select * from {{ ref('stg_faiss_idmap') }}

),

chunks as (

    select * from {{ ref('stg_chunks') }}

),

checksum as (

    select * from {{ ref('int_faiss_idmap_checksum') }}

),

joined as (

    select
        idmap.faiss_row,
        idmap.faiss_id,
        idmap.chunk_id,
        chunks.uri,
        chunks.start_line,
        chunks.end_line,
        chunks.language,
        chunks.content_hash,
        idmap.index_name,
        idmap.build_version,
        idmap.built_at,
        checksum.source_checksum
    from idmap
    left join chunks on idmap.chunk_id = chunks.chunk_id
    cross join checksum

)

select * from joined
order by faiss_row
