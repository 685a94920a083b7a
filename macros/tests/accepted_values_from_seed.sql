{#- Why: enumerations (channels, SCIP roles, languages) live in seeds so they are documented
    once; this test fails with each value that is not in the seed, its count and an example
    key. -#}
{% test accepted_values_from_seed(model, column_name, seed, seed_column, key_column=none) %}
    {{ return(adapter.dispatch('test_accepted_values_from_seed', 'codeintel')(model, column_name, seed, seed_column, key_column)) }}
{% endtest %}

{% macro default__test_accepted_values_from_seed(model, column_name, seed, seed_column, key_column) %}
select
    child.{{ column_name }} as unknown_value,
    count(*) as count_rows
    {%- if key_column %},
    min(cast(child.{{ key_column }} as {{ dbt.type_string() }})) as example_key
    {%- endif %}
from {{ model }} as child
left join {{ seed }} as allowed
    on child.{{ column_name }} = allowed.{{ seed_column }}
where child.{{ column_name }} is not null
    and allowed.{{ seed_column }} is null
group by child.{{ column_name }}
{% endmacro %}
