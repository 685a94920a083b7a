{#- Why: optional sources are checked at run time; DuckDB's glob() tells whether a path or
    pattern (relative paths resolve against dbt's working directory) matches any file. -#}
{% macro files_exist(path) %}
    {{ return(adapter.dispatch('files_exist', 'codeintel')(path)) }}
{% endmacro %}

{% macro default__files_exist(path) %}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set result = run_query("select count(*) from glob('" ~ (path | replace("'", "''")) ~ "')") -%}
    {{ return(result.columns[0].values()[0] > 0) }}
{% endmacro %}
