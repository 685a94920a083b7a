with

nodes as (

    select * from {{ ref('stg_ast_nodes') }}

),

node_to_chunk as (

    select * from {{ ref('stg_node_to_chunk') }}

),

uri_modules as (

    select * from {{ ref('int_uri_modules') }}

),

chunk_counts as (

    select
        node_id,
        count(*) as count_chunks,
        min(chunk_id) filter (where is_node_in_chunk) as containing_chunk_id
    from node_to_chunk
    group by node_id

),

final as (

    select
        nodes.node_id,
        nodes.uri,
        nodes.kind,
        nodes.name,
        nodes.symbol,
        nodes.is_declaration,
        nodes.depth,
        nodes.parent_id,
        parents.kind as parent_kind,
        nodes.start_byte,
        nodes.end_byte,
        nodes.start_line,
        nodes.end_line,
        nodes.text_hash,
        coalesce(chunk_counts.count_chunks, 0) as count_chunks,
        chunk_counts.containing_chunk_id,
        coalesce(chunk_counts.count_chunks, 0) > 1 as is_split,
        uri_modules.module_id
    from nodes
    left join nodes as parents on nodes.parent_id = parents.node_id
    left join chunk_counts on nodes.node_id = chunk_counts.node_id
    left join uri_modules on nodes.uri = uri_modules.uri

)

select * from final
