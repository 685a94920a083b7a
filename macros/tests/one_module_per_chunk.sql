{#- Why: module attribution must never fan out: every chunk maps to exactly one row of the
    model, and the longest matching uri_prefix must be unambiguous. Fails with each chunk that
    is missing, repeated, or matched by several modules at the same prefix length. -#}
{% test one_module_per_chunk(model, chunks, ambiguity_column='count_longest_matches') %}
    {{ return(adapter.dispatch('test_one_module_per_chunk', 'codeintel')(model, chunks, ambiguity_column)) }}
{% endtest %}

{% macro default__test_one_module_per_chunk(model, chunks, ambiguity_column) %}
with

per_chunk as (

    select chunk_id, count(*) as count_rows, max({{ ambiguity_column }}) as count_longest_matches
    from {{ model }}
    group by chunk_id

)

select
    chunks.chunk_id,
    coalesce(per_chunk.count_rows, 0) as count_rows,
    per_chunk.count_longest_matches
from {{ chunks }} as chunks
left join per_chunk on chunks.chunk_id = per_chunk.chunk_id
where coalesce(per_chunk.count_rows, 0) <> 1
    or per_chunk.count_longest_matches > 1
{% endmacro %}
