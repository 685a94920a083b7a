{{ config(indexes=[{'columns': ['uri']}]) }}

-- One row per distinct file uri seen in chunks, symbol edges, SCIP symbols or AST nodes, with the module
-- whose normalized uri_prefix is the longest path-segment prefix of the uri.

with

chunks as (

    select uri from {{ ref('stg_chunks') }}

),

edges as (

    select src_uri, dst_uri from {{ ref('stg_symbol_edges') }}

),

symbols as (

    select uri from {{ ref('stg_scip_symbols') }}

),

ast_files as (

    select distinct uri from {{ ref('stg_ast_nodes') }}

),

modules as (

    select module_id, path_prefix from {{ ref('stg_modules') }}

),

uris as (

    select uri from chunks
    union
    select src_uri from edges where src_uri is not null
    union
    select dst_uri from edges where dst_uri is not null
    union
    select uri from symbols where uri is not null
    union
    select uri from ast_files

),

ancestors as (

    select
        uris.uri,
        {{ codeintel.unnest(codeintel.path_ancestors('uris.uri')) }} as path_prefix
    from uris

),

matches as (

    select
        ancestors.uri,
        modules.module_id,
        modules.path_prefix,
        length(modules.path_prefix) as prefix_length
    from ancestors
    inner join modules on ancestors.path_prefix = modules.path_prefix

),

ranked as (

    select
        matches.*,
        row_number() over (
            partition by matches.uri order by matches.prefix_length desc, matches.module_id asc
        ) as match_rank,
        count(*) over (partition by matches.uri, matches.prefix_length) as count_longest_matches
    from matches

),

final as (

    select
        uris.uri,
        ranked.module_id,
        ranked.path_prefix as matched_prefix,
        coalesce(ranked.count_longest_matches, 0) as count_longest_matches
    from uris
    left join ranked
        on uris.uri = ranked.uri
        and ranked.match_rank = 1

)

select * from final
