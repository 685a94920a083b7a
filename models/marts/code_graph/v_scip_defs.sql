with

occurrences as (

    select * from {{ ref('stg_scip_occurrences') }}

),

scip_symbols as (

    select * from {{ ref('stg_scip_symbols') }}

),

chunks as (

    select * from {{ ref('stg_chunks') }}

),

uri_modules as (

    select * from {{ ref('int_uri_modules') }}

),

definitions as (

    select * from occurrences where is_definition

),

containing_chunks as (

    select
        definitions.occurrence_id,
        chunks.chunk_id,
        row_number() over (
            partition by definitions.occurrence_id
            order by chunks.end_line - chunks.start_line, chunks.chunk_id
        ) as containment_rank
    from definitions
    inner join chunks
        on definitions.uri = chunks.uri
        and definitions.start_line >= chunks.start_line
        and definitions.end_line <= chunks.end_line

),

final as (

    select
        definitions.occurrence_id,
        definitions.symbol,
        scip_symbols.display_name,
        scip_symbols.kind,
        scip_symbols.documentation,
        definitions.uri,
        definitions.start_line,
        definitions.start_char,
        definitions.end_line,
        definitions.end_char,
        containing_chunks.chunk_id,
        uri_modules.module_id
    from definitions
    left join scip_symbols on definitions.symbol = scip_symbols.symbol
    left join containing_chunks
        on definitions.occurrence_id = containing_chunks.occurrence_id
        and containing_chunks.containment_rank = 1
    left join uri_modules on definitions.uri = uri_modules.uri

)

select * from final
