{#- Why: v_chunks cannot carry an enforced dbt contract (its embedding type FLOAT[d] depends
    on the data), so this test checks its column types against information_schema instead:
    each expected column must exist with a type matching the given regular expression. -#}
{% test column_types(model, expected) %}
    {{ return(adapter.dispatch('test_column_types', 'codeintel')(model, expected)) }}
{% endtest %}

{% macro default__test_column_types(model, expected) %}
with

expected as (

    select * from (values
    {%- for name, pattern in expected.items() %}
        ('{{ name }}', '{{ pattern }}'){{ "," if not loop.last }}
    {%- endfor %}
    ) as t(column_name, type_pattern)

),

actual as (

    select column_name, data_type
    from information_schema.columns
    where table_schema = '{{ model.schema }}'
        and table_name = '{{ model.identifier }}'

)

select expected.column_name, expected.type_pattern, actual.data_type
from expected
left join actual on expected.column_name = actual.column_name
where actual.data_type is null
    or not regexp_full_match(upper(actual.data_type), upper(expected.type_pattern))
{% endmacro %}
