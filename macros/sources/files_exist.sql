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

{#- Spark has no glob() and a missing path is an analysis error Jinja cannot catch, so the
    data root (which must exist and be absolute: Spark resolves relative paths against the
    JVM's working directory) is listed with the binaryFile source and the glob is matched
    as a LIKE pattern against the listed paths (the file contents are never read). -#}
{% macro spark__files_exist(path) %}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set root = codeintel.spark_data_root() -%}
    {%- do run_query(
        "create or replace temporary view codeintel_data_root_files using binaryFile options (path '"
        ~ (root | replace("'", "\\'")) ~ "', recursiveFileLookup 'true')"
    ) -%}
    {%- set pattern = 'file:' ~ (path | replace("'", "\\'") | replace('%', '\\%') | replace('_', '\\_') | replace('*', '%')) -%}
    {%- set result = run_query(
        "select count(*) from (select path from codeintel_data_root_files) as listed where path like '"
        ~ pattern ~ "'"
    ) -%}
    {{ return(result.columns[0].values()[0] > 0) }}
{% endmacro %}

{#- The data root of a Spark build: absolute, or a compile error that says how to fix it. -#}
{% macro spark_data_root() %}
    {%- set root = var('data_root', env_var('CODEINTEL_DATA_ROOT', 'data')) | string -%}
    {%- if not root.startswith('/') -%}
        {{ exceptions.raise_compiler_error(
            "the spark target needs an absolute data root (Spark resolves relative paths against "
            ~ "its own working directory), got '" ~ root ~ "': set CODEINTEL_DATA_ROOT=/abs/path "
            ~ "or --vars '{data_root: /abs/path}'") }}
    {%- endif -%}
    {{ return(root.rstrip('/')) }}
{% endmacro %}
