{#- Why: the published FAISS index must cover the chunks it serves. Fails with each chunk the
    id map misses (when coverage is below min_coverage, var idmap_min_coverage by default) and
    each chunk the id map lists more than once. An absent id map (no published index) passes:
    there is nothing to check. -#}
{% test idmap_coverage(model, column_name, idmap, idmap_column, min_coverage=none) %}
    {{ return(adapter.dispatch('test_idmap_coverage', 'codeintel')(model, column_name, idmap, idmap_column, min_coverage)) }}
{% endtest %}

{% macro default__test_idmap_coverage(model, column_name, idmap, idmap_column, min_coverage) %}
{%- set min_coverage = codeintel.checked_var('idmap_min_coverage', 'float', min_value=0, max_value=1) if min_coverage is none else min_coverage -%}
with

mapped as (

    select {{ idmap_column }} as chunk_id, count(*) as count_mapped
    from {{ idmap }}
    group by {{ idmap_column }}

),

chunks as (

    select {{ column_name }} as chunk_id from {{ model }}

),

coverage as (

    select
        count(*) as count_chunks,
        count(mapped.chunk_id) as count_covered,
        (select count(*) from mapped) as count_map_keys
    from chunks
    left join mapped on chunks.chunk_id = mapped.chunk_id

),

missing as (

    select chunks.chunk_id, 'not in id map' as problem, 0 as count_mapped
    from chunks
    left join mapped on chunks.chunk_id = mapped.chunk_id
    where mapped.chunk_id is null
        and (select count_map_keys from coverage) > 0
        and (select count_covered / greatest(count_chunks, 1) from coverage) < {{ min_coverage | float }}

),

duplicated as (

    select chunk_id, 'mapped more than once' as problem, count_mapped
    from mapped
    where count_mapped > 1

)

select * from missing
union all
select * from duplicated
{% endmacro %}
