with

edges as (

    select * from {{ ref('stg_symbol_edges') }}

),

scip_symbols as (

    select * from {{ ref('stg_scip_symbols') }}

),

uri_modules as (

    select * from {{ ref('int_uri_modules') }}

),

final as (

    select
        edges.edge_id,
        edges.src_symbol,
        edges.dst_symbol,
        edges.edge_kind,
        edges.weight,
        src_symbols.display_name as src_display_name,
        dst_symbols.display_name as dst_display_name,
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
    left join scip_symbols as src_symbols on edges.src_symbol = src_symbols.symbol
    left join scip_symbols as dst_symbols on edges.dst_symbol = dst_symbols.symbol
    left join uri_modules as src_modules on edges.src_uri = src_modules.uri
    left join uri_modules as dst_modules on edges.dst_uri = dst_modules.uri

)

select * from final
