{#- "Most called": one row per symbol that something calls. Name-only edges (a repository-wide
    unique name, a guess) are counted apart and left out of count_callers and the rank unless
    the var include_name_only_edges is true. -#}
{%- set include_name_only = var('include_name_only_edges', false) | string | lower in ['true', '1', 'yes'] -%}

with

edges as (

    select * from {{ ref('stg_symbol_edges') }}
    where edge_kind = 'calls'

),

symbol_names as (

    select * from {{ ref('int_symbol_names') }}

),

uri_modules as (

    select * from {{ ref('int_uri_modules') }}

),

per_symbol as (

    select
        dst_symbol as symbol,
        any_value(dst_uri) as uri,
        count(distinct src_symbol) as count_callers_all,
        count(distinct case when resolution is distinct from 'name_only' then src_symbol end)
            as count_callers_resolved,
        count(distinct case when resolution = 'name_only' then src_symbol end) as count_callers_name_only,
        count(distinct case when resolution = 'scip' then src_symbol end) as count_callers_scip,
        count(distinct case when resolution = 'import' then src_symbol end) as count_callers_import,
        count(distinct case when resolution = 'same_module' then src_symbol end) as count_callers_same_module,
        sum(case when resolution is distinct from 'name_only' then weight else 0 end)
            as count_call_sites_resolved,
        sum(weight) as count_call_sites_all
    from edges
    group by dst_symbol

),

ranked as (

    select
        per_symbol.*,
        {{ 'per_symbol.count_callers_all' if include_name_only else 'per_symbol.count_callers_resolved' }}
            as count_callers
    from per_symbol

),

final as (

    select
        ranked.symbol,
        symbol_names.display_name,
        ranked.uri,
        uri_modules.module_id,
        cast(ranked.count_callers as bigint) as count_callers,
        cast(ranked.count_callers_resolved as bigint) as count_callers_resolved,
        cast(ranked.count_callers_name_only as bigint) as count_callers_name_only,
        cast(ranked.count_callers_scip as bigint) as count_callers_scip,
        cast(ranked.count_callers_import as bigint) as count_callers_import,
        cast(ranked.count_callers_same_module as bigint) as count_callers_same_module,
        cast(ranked.count_call_sites_resolved as double) as count_call_sites_resolved,
        cast(ranked.count_call_sites_all as double) as count_call_sites_all,
        {{ 'true' if include_name_only else 'false' }} as includes_name_only,
        cast(rank() over (order by ranked.count_callers desc) as bigint) as callers_rank
    from ranked
    left join symbol_names on ranked.symbol = symbol_names.symbol
    left join uri_modules on ranked.uri = uri_modules.uri

)

select * from final
