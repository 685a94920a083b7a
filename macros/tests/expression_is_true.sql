{#- Why: row-level invariants (faiss_id = chunk_id, shares sum to one, counts consistent) are
    one boolean expression each; the failing rows themselves are returned, keys included. -#}
{% test expression_is_true(model, expression, where_clause=none, column_name=none) %}
    {{ return(adapter.dispatch('test_expression_is_true', 'codeintel')(model, expression, where_clause)) }}
{% endtest %}

{% macro default__test_expression_is_true(model, expression, where_clause) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{%- if where_clause %}
    and ({{ where_clause }})
{%- endif %}
{% endmacro %}
