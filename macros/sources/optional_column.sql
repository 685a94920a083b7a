{#- Why: some contract columns are optional (docs/contracts.md, e.g. the chunks' enclosing_symbol,
    embed_length, truncated): ingest writes them, other producers may not. This selects the
    column cast to its type when any Parquet file of the source has it, else a typed null, so a
    data root written by an older or external producer still builds. -#}
{% macro optional_column(source_name, table_name, column_name, data_type) %}
    {{ return(adapter.dispatch('optional_column', 'codeintel')(source_name, table_name, column_name, data_type)) }}
{% endmacro %}

{% macro default__optional_column(source_name, table_name, column_name, data_type) %}
    {%- if not execute -%}
        {{ return('cast(null as ' ~ data_type ~ ')') }}
    {%- endif -%}
    {%- set node = codeintel.source_meta(source_name, table_name) -%}
    {%- set path = node.meta.path | replace("'", "''") -%}
    {%- set present = false -%}
    {%- if codeintel.files_exist(node.meta.path) -%}
        {%- set sql -%}
            select count(*) from parquet_schema('{{ path }}') where name = '{{ column_name | replace("'", "''") }}'
        {%- endset -%}
        {%- set present = run_query(sql).columns[0].values()[0] > 0 -%}
    {%- endif -%}
    {%- if present -%}
        {{ return('cast(' ~ adapter.quote(column_name) ~ ' as ' ~ data_type ~ ')') }}
    {%- endif -%}
    {{ return('cast(null as ' ~ data_type ~ ')') }}
{% endmacro %}

{#- Spark reads no Parquet schema table function: the source's columns come from
    source_column_names (the chunks glob is read with mergeSchema, so a column any file has is
    listed), and the type is translated to Spark's spelling. -#}
{% macro spark__optional_column(source_name, table_name, column_name, data_type) %}
    {%- set spark_data_type = codeintel.spark_type(data_type) -%}
    {%- if execute and column_name | lower in codeintel.source_column_names(source_name, table_name) -%}
        {{ return('cast(' ~ adapter.quote(column_name) ~ ' as ' ~ spark_data_type ~ ')') }}
    {%- endif -%}
    {{ return('cast(null as ' ~ spark_data_type ~ ')') }}
{% endmacro %}
