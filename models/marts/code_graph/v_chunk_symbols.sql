with

chunk_symbols as (

    select * from {{ ref('int_chunk_symbols') }}

),

final as (

    select
        chunk_symbols.chunk_id,
        chunk_symbols.symbol_name,
        chunk_symbols.symbol_position,
        chunk_symbols.uri,
        chunk_symbols.scip_symbol,
        chunk_symbols.scip_kind
    from chunk_symbols

)

select * from final
