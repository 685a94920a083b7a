{#- Why: a definition that lies outside every chunk of its file cannot be hydrated or
    attributed; it means the chunker and the SCIP indexer disagree on the file (stale facts,
    wrong line base). Fails with each such occurrence (symbol, uri, lines). Files with no
    chunks at all are left to the relationships test on uri. -#}
{% test occurrence_inside_chunk(model, chunks, where_clause='is_definition') %}
    {{ return(adapter.dispatch('test_occurrence_inside_chunk', 'codeintel')(model, chunks, where_clause)) }}
{% endtest %}

{% macro default__test_occurrence_inside_chunk(model, chunks, where_clause) %}
with

occurrences as (

    select symbol, uri, start_line, end_line
    from {{ model }}
    where {{ where_clause }}

),

chunked_files as (

    select distinct uri from {{ chunks }}

),

contained as (

    select distinct occurrences.symbol, occurrences.uri, occurrences.start_line, occurrences.end_line
    from occurrences
    inner join {{ chunks }} as chunks
        on occurrences.uri = chunks.uri
        and occurrences.start_line >= chunks.start_line
        and occurrences.end_line <= chunks.end_line

)

select occurrences.symbol, occurrences.uri, occurrences.start_line, occurrences.end_line
from occurrences
inner join chunked_files on occurrences.uri = chunked_files.uri
left join contained
    on occurrences.symbol = contained.symbol
    and occurrences.uri = contained.uri
    and occurrences.start_line = contained.start_line
    and occurrences.end_line = contained.end_line
where contained.symbol is null
{% endmacro %}
