-- Every chunk of a file mapped to syntax-tree nodes is covered by them: it is mapped, its first
-- and its last byte lie inside a (non-root) node mapped to it, and every mapping's overlap is
-- exactly what the two byte ranges share. Returns (chunk_id, problem).
with

links as (

    select
        node_to_chunk.chunk_id,
        node_to_chunk.overlap_bytes,
        nodes.depth,
        nodes.start_byte as node_start,
        nodes.end_byte as node_end,
        chunks.start_byte as chunk_start,
        chunks.end_byte as chunk_end
    from {{ ref('stg_node_to_chunk') }} as node_to_chunk
    inner join {{ ref('stg_ast_nodes') }} as nodes on node_to_chunk.node_id = nodes.node_id
    inner join {{ ref('stg_chunks') }} as chunks on node_to_chunk.chunk_id = chunks.chunk_id

),

coverage as (

    select
        chunk_id,
        bool_or(depth > 0 and node_start <= chunk_start and chunk_start < node_end) as is_start_covered,
        bool_or(depth > 0 and node_start < chunk_end and chunk_end <= node_end) as is_end_covered,
        bool_and(
            overlap_bytes = least(node_end, chunk_end) - greatest(node_start, chunk_start)
        ) as is_overlap_exact
    from links
    group by chunk_id

),

mapped_files as (

    select distinct uri from {{ ref('stg_node_to_chunk') }}

)

select
    chunks.chunk_id,
    'chunk of a mapped file without nodes' as problem
from {{ ref('stg_chunks') }} as chunks
inner join mapped_files on chunks.uri = mapped_files.uri
where chunks.chunk_id not in (
        select node_to_chunk.chunk_id from {{ ref('stg_node_to_chunk') }} as node_to_chunk
    )

union all

select
    chunk_id,
    case
        when not is_overlap_exact then 'overlap_bytes differs from the ranges'
        when not is_start_covered then 'first byte outside every mapped node'
        else 'last byte outside every mapped node'
    end as problem
from coverage
where not (is_start_covered and is_end_covered and is_overlap_exact)
