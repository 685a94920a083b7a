{#- One display name per symbol: SCIP's when it has one, else the name tree-sitter gave the
    declaration (ast_nodes), so symbols of files no SCIP indexer covers are named too. -#}
with

scip_symbols as (

    select * from {{ ref('stg_scip_symbols') }}

),

ast_nodes as (

    select * from {{ ref('stg_ast_nodes') }}

),

from_scip as (

    select
        symbol,
        display_name,
        'scip' as name_source
    from scip_symbols
    where display_name is not null

),

from_syntax as (

    select
        symbol,
        min(name) as display_name,
        'tree-sitter' as name_source
    from ast_nodes
    where symbol is not null and name is not null
    group by symbol

),

final as (

    select * from from_scip
    union all
    select from_syntax.*
    from from_syntax
    where from_syntax.symbol not in (select from_scip.symbol from from_scip)

)

select * from final
