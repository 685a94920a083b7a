{#- Why: a contract can gain a column while data roots still hold files written before it; a
    staging model asks which columns the source's files actually have and selects a typed null
    for a missing one. Absent sources answer with the columns declared in the source YAML (the
    typed empty relation of optional_source has exactly those). -#}
{% macro source_column_names(source_name, table_name) %}
    {{ return(adapter.dispatch('source_column_names', 'codeintel')(source_name, table_name)) }}
{% endmacro %}

{% macro default__source_column_names(source_name, table_name) %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set node = codeintel.source_meta(source_name, table_name) -%}
    {%- if not codeintel.files_exist(node.meta.path) -%}
        {{ return(node.columns.keys() | list) }}
    {%- endif -%}
    {%- set result = run_query('select * from ' ~ source(source_name, table_name) ~ ' limit 0') -%}
    {{ return(result.column_names | map('lower') | list) }}
{% endmacro %}
