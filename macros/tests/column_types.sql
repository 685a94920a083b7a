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

{#- Spark has no information_schema: the relation's columns come from the adapter (describe),
    and each expected pattern, written in DuckDB's type names, is translated to Spark's
    (VARCHAR -> string, INTEGER -> int, VARCHAR\[\] -> array<string>, FLOAT\[d\] -> array<float>). -#}
{% macro spark__test_column_types(model, expected) %}
{%- set actual = adapter.get_columns_in_relation(model) if execute else [] -%}
{%- set translations = [
    ('varchar\\[\\]', 'array<string>'), ('bigint\\[\\]', 'array<bigint>'),
    ('float\\[[0-9]+\\]', 'array<float>'), ('varchar', 'string'), ('integer', 'int'),
] -%}
with

expected as (

    select * from (values
    {%- for name, pattern in expected.items() %}
        {%- set ns = namespace(p=pattern | lower) -%}
        {%- for duck, spark in translations -%}{%- set ns.p = ns.p | replace(duck, spark) -%}{%- endfor %}
        ('{{ name }}', '{{ ns.p | replace("\\", "\\\\") }}'){{ "," if not loop.last }}
    {%- endfor %}
    ) as t(column_name, type_pattern)

),

actual as (

    select * from (values
    {%- for col in actual %}
        ('{{ col.name }}', '{{ col.dtype }}'){{ "," if not loop.last }}
    {%- endfor %}
    {%- if not actual %}
        (cast(null as string), cast(null as string))
    {%- endif %}
    ) as t(column_name, data_type)

)

select expected.column_name, expected.type_pattern, actual.data_type
from expected
left join actual on expected.column_name = actual.column_name
where actual.data_type is null
    or not {{ codeintel.regexp_full_match('lower(actual.data_type)', 'expected.type_pattern') }}
{% endmacro %}
