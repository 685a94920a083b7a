-- Every recorded syntax-tree node lies inside its parent (same file, bytes and lines within
-- the parent's) one level deeper. Returns the offending node_id with its parent_id.
select
    nodes.node_id,
    nodes.parent_id
from {{ ref('stg_ast_nodes') }} as nodes
inner join {{ ref('stg_ast_nodes') }} as parents on nodes.parent_id = parents.node_id
where
    nodes.uri <> parents.uri
    or nodes.start_byte < parents.start_byte
    or nodes.end_byte > parents.end_byte
    or nodes.start_line < parents.start_line
    or nodes.end_line > parents.end_line
    or nodes.depth <> parents.depth + 1
