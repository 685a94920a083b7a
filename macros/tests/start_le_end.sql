{#- Why: every range in the catalog (lines, bytes, chars) must be ordered; a reversed range
    breaks containment joins silently. Fails with the key and the offending bounds. -#}
{% test start_le_end(model, start_column, end_column, key_columns) %}
    {{ return(adapter.dispatch('test_start_le_end', 'codeintel')(model, start_column, end_column, key_columns)) }}
{% endtest %}

{% macro default__test_start_le_end(model, start_column, end_column, key_columns) %}
select
    {{ key_columns | join(', ') }},
    {{ start_column }},
    {{ end_column }}
from {{ model }}
where {{ start_column }} > {{ end_column }}
{% endmacro %}
