{#- A table (index on chunk_id): v_chunk_symbols reads it, and hydration looks chunks up in it
    without unnesting every chunk's symbol list at query time. -#}
{{ config(indexes=[{'columns': ['chunk_id']}]) }}

with

chunks as (

    select * from {{ ref('stg_chunks') }}

),

occurrences as (

    select * from {{ ref('stg_scip_occurrences') }}

),

scip_symbols as (

    select * from {{ ref('stg_scip_symbols') }}

),

unnested as (

    select
        chunks.chunk_id,
        chunks.uri,
        chunks.start_line,
        chunks.end_line,
        {{ codeintel.unnest_with_position('chunks.symbols', 'symbol_name', 'symbol_position') }}
    from chunks

),

deduplicated as (

    select
        unnested.chunk_id,
        unnested.symbol_name,
        any_value(unnested.uri) as uri,
        any_value(unnested.start_line) as start_line,
        any_value(unnested.end_line) as end_line,
        min(unnested.symbol_position) as symbol_position
    from unnested
    where unnested.symbol_name is not null and unnested.symbol_name <> ''
    group by unnested.chunk_id, unnested.symbol_name

),

scip_defs as (

    select
        occurrences.symbol,
        occurrences.uri,
        occurrences.start_line,
        scip_symbols.display_name,
        scip_symbols.kind
    from occurrences
    inner join scip_symbols on occurrences.symbol = scip_symbols.symbol
    where occurrences.is_definition

),

matched_by_symbol as (

    -- with SCIP at ingest, the chunker lists SCIP symbol strings
    select
        deduplicated.chunk_id,
        deduplicated.symbol_name,
        min(scip_defs.symbol) as scip_symbol,
        min(scip_defs.kind) as scip_kind
    from deduplicated
    inner join scip_defs on deduplicated.symbol_name = scip_defs.symbol
    group by deduplicated.chunk_id, deduplicated.symbol_name

),

matched_by_name as (

    -- without it, names: match a definition with that display name inside the chunk's lines
    select
        deduplicated.chunk_id,
        deduplicated.symbol_name,
        min(scip_defs.symbol) as scip_symbol,
        min(scip_defs.kind) as scip_kind
    from deduplicated
    inner join scip_defs
        on deduplicated.uri = scip_defs.uri
        and deduplicated.symbol_name = scip_defs.display_name
        and scip_defs.start_line between deduplicated.start_line and deduplicated.end_line
    group by deduplicated.chunk_id, deduplicated.symbol_name

),

final as (

    select
        deduplicated.chunk_id,
        deduplicated.symbol_name,
        cast(deduplicated.symbol_position as integer) as symbol_position,
        deduplicated.uri,
        coalesce(matched_by_symbol.scip_symbol, matched_by_name.scip_symbol) as scip_symbol,
        coalesce(matched_by_symbol.scip_kind, matched_by_name.scip_kind) as scip_kind
    from deduplicated
    left join matched_by_symbol
        on deduplicated.chunk_id = matched_by_symbol.chunk_id
        and deduplicated.symbol_name = matched_by_symbol.symbol_name
    left join matched_by_name
        on deduplicated.chunk_id = matched_by_name.chunk_id
        and deduplicated.symbol_name = matched_by_name.symbol_name

)

select * from final
