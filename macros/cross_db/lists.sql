{#- Why: list functions are spelled differently on DuckDB and Spark, and dbt has no
    cross-database macros for them (dbt.length() is string length). -#}

{#- number of elements: len(l) / size(l) -#}
{% macro list_length(list) %}
    {{ return(adapter.dispatch('list_length', 'codeintel')(list)) }}
{% endmacro %}

{% macro default__list_length(list) %}len({{ list }}){% endmacro %}

{% macro spark__list_length(list) %}size({{ list }}){% endmacro %}

{#- membership: list_contains(l, v) / array_contains(l, v) -#}
{% macro list_contains(list, value) %}
    {{ return(adapter.dispatch('list_contains', 'codeintel')(list, value)) }}
{% endmacro %}

{% macro default__list_contains(list, value) %}list_contains({{ list }}, {{ value }}){% endmacro %}

{% macro spark__list_contains(list, value) %}array_contains({{ list }}, {{ value }}){% endmacro %}

{#- an empty list of element_type (DuckDB spelling): cast([] as t[]) / cast(array() as array<t>) -#}
{% macro empty_list(element_type) %}
    {{ return(adapter.dispatch('empty_list', 'codeintel')(element_type)) }}
{% endmacro %}

{% macro default__empty_list(element_type) %}cast([] as {{ element_type }}[]){% endmacro %}

{% macro spark__empty_list(element_type) %}cast(array() as {{ codeintel.spark_type(element_type ~ '[]') }}){% endmacro %}

{#- one output row per element, in a select list: unnest(l) / explode(l); both drop empty
    and null lists -#}
{% macro unnest(list) %}
    {{ return(adapter.dispatch('unnest', 'codeintel')(list)) }}
{% endmacro %}

{% macro default__unnest(list) %}unnest({{ list }}){% endmacro %}

{% macro spark__unnest(list) %}explode({{ list }}){% endmacro %}

{#- one output row per element with its 1-based position, as two select-list columns -#}
{% macro unnest_with_position(list, value_alias, position_alias) %}
    {{ return(adapter.dispatch('unnest_with_position', 'codeintel')(list, value_alias, position_alias)) }}
{% endmacro %}

{% macro default__unnest_with_position(list, value_alias, position_alias) -%}
    unnest({{ list }}) as {{ value_alias }},
    generate_subscripts({{ list }}, 1) as {{ position_alias }}
{%- endmacro %}

{% macro spark__unnest_with_position(list, value_alias, position_alias) -%}
    {#- posexplode's position is 0-based: inline() over (element, position + 1) structs -#}
    inline(transform({{ list }}, (x, i) -> struct(x as {{ value_alias }}, i + 1 as {{ position_alias }})))
{%- endmacro %}

{#- the squared L2 norm of a float list as a double: array_inner_product(l, l) / aggregate() -#}
{% macro squared_norm(list) %}
    {{ return(adapter.dispatch('squared_norm', 'codeintel')(list)) }}
{% endmacro %}

{% macro default__squared_norm(list) %}cast(array_inner_product({{ list }}, {{ list }}) as double){% endmacro %}

{% macro spark__squared_norm(list) %}aggregate({{ list }}, cast(0 as double), (acc, x) -> acc + cast(x as double) * x){% endmacro %}
