-- Every positive of an evaluation query is a chunk of the catalog. Returns (query_id, chunk_id).
with

positives as (

    select query_id, {{ codeintel.unnest('positive_chunk_ids') }} as chunk_id
    from {{ ref('stg_eval_queries') }}

)

select positives.query_id, positives.chunk_id
from positives
left join {{ ref('stg_chunks') }} as chunks on positives.chunk_id = chunks.chunk_id
where chunks.chunk_id is null
