with

edges as (

    select * from {{ ref('stg_symbol_edges') }}

),

-- each side of an edge joins its own CTE: a CTE referenced twice is materialized by DuckDB
-- 2.0, and over an empty table (no SCIP data) that plan dropped the LIMIT of queries on this
-- view (`select … from v_symbol_neighbors limit 3` returned every row)
src_names as (

    select symbol, display_name from {{ ref('int_symbol_names') }}

),

dst_names as (

    select symbol, display_name from {{ ref('int_symbol_names') }}

),

src_modules as (

    select uri, module_id from {{ ref('int_uri_modules') }}

),

dst_modules as (

    select uri, module_id from {{ ref('int_uri_modules') }}

),

final as (

    select
        edges.edge_id,
        edges.src_symbol,
        edges.dst_symbol,
        edges.edge_kind,
        edges.resolution,
        edges.resolution = 'name_only' as is_name_only,
        edges.weight,
        src_names.display_name as src_display_name,
        dst_names.display_name as dst_display_name,
        edges.src_uri,
        edges.dst_uri,
        src_modules.module_id as src_module_id,
        dst_modules.module_id as dst_module_id,
        (
            src_modules.module_id is not null
            and dst_modules.module_id is not null
            and src_modules.module_id <> dst_modules.module_id
        ) as is_cross_module
    from edges
    left join src_names on edges.src_symbol = src_names.symbol
    left join dst_names on edges.dst_symbol = dst_names.symbol
    left join src_modules on edges.src_uri = src_modules.uri
    left join dst_modules on edges.dst_uri = dst_modules.uri

)

select * from final
