{#- Why: a column added to a contract later (eval runs' queries_fingerprint) is missing from
    files written before; staging selects it only when the source's Parquet has it, and a typed
    null otherwise, so older data roots still build. True when the source is absent (its typed
    empty relation has every declared column). -#}
{% macro source_has_column(source_name, table_name, column_name) %}
    {{ return(adapter.dispatch('source_has_column', 'codeintel')(source_name, table_name, column_name)) }}
{% endmacro %}

{% macro default__source_has_column(source_name, table_name, column_name) %}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set path = codeintel.source_path(source_name, table_name) -%}
    {%- if path is none or not codeintel.files_exist(path) -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set sql -%}
        select count(*) from parquet_schema('{{ path | replace("'", "''") }}')
        where name = '{{ column_name | replace("'", "''") }}'
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0] > 0) }}
{% endmacro %}
