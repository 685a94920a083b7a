-- Every file with syntax-tree nodes has exactly one root (depth 0, from byte 0), and every node
-- of the file lies inside it. Returns (uri, node_id) of each offender (node_id null when the
-- file itself has no root or several).
with

roots as (

    select
        uri,
        count(*) as count_roots,
        min(end_byte) as end_byte
    from {{ ref('stg_ast_nodes') }}
    where depth = 0 and start_byte = 0
    group by uri

),

files as (

    select distinct uri from {{ ref('stg_ast_nodes') }}

)

select
    files.uri,
    cast(null as bigint) as node_id
from files
left join roots on files.uri = roots.uri
where coalesce(roots.count_roots, 0) <> 1

union all

select
    nodes.uri,
    nodes.node_id
from {{ ref('stg_ast_nodes') }} as nodes
inner join roots on nodes.uri = roots.uri
where nodes.start_byte < 0 or nodes.end_byte > roots.end_byte
