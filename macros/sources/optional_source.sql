{#- Why: every fact except chunks is optional (a fresh data root has no SCIP, index or eval
    files yet). When the source's files are absent this returns a typed, zero-row relation
    built from the column data_types declared in the source YAML, so `dbt build` still
    succeeds; when present it selects from the source's external_location with its path
    resolved (macro source_path: the index sources read the version faiss/CURRENT names).
    source() is always called, so lineage in the docs stays intact. -#}
{% macro optional_source(source_name, table_name) %}
    {{ return(adapter.dispatch('optional_source', 'codeintel')(source_name, table_name)) }}
{% endmacro %}

{% macro default__optional_source(source_name, table_name) %}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute -%}
        {{ return('select * from ' ~ relation) }}
    {%- endif -%}
    {%- set node = codeintel.source_meta(source_name, table_name) -%}
    {%- set path = codeintel.source_path(source_name, table_name) -%}
    {%- if path is not none and codeintel.files_exist(path) -%}
        {{ return('select * from ' ~ node.meta.external_location | replace('{path}', path | replace("'", "''"))) }}
    {%- endif -%}
    {{ log("optional source " ~ source_name ~ "." ~ table_name ~ " absent (" ~ path ~ "): typed empty relation", info=true) }}
    {%- set cols = [] -%}
    {%- for col in node.columns.values() -%}
        {%- if not col.data_type -%}
            {{ exceptions.raise_compiler_error("source " ~ source_name ~ "." ~ table_name ~ " column " ~ col.name ~ " needs a data_type") }}
        {%- endif -%}
        {%- do cols.append('cast(null as ' ~ codeintel.type_of(col.data_type) ~ ') as ' ~ adapter.quote(col.name)) -%}
    {%- endfor -%}
    {{ return('select ' ~ cols | join(', ') ~ ' where false') }}
{% endmacro %}

{#- On Spark a Parquet source is read as parquet.`<path>` at its resolved path (source_path: the
    index sources read the version faiss/CURRENT names); a source that is not a Parquet table
    (JSON manifests, the CURRENT text file, the id map's bytes) declares meta.spark_relation: a
    subquery over {path}, read with Spark's binaryFile data source. The typed empty relation casts to the Spark spelling of each
    declared type (codeintel.spark_type). -#}
{% macro spark__optional_source(source_name, table_name) %}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute -%}
        {{ return('select * from ' ~ relation) }}
    {%- endif -%}
    {%- set node = codeintel.source_meta(source_name, table_name) -%}
    {%- set path = codeintel.source_path(source_name, table_name) -%}
    {%- if path is not none and codeintel.files_exist(path) -%}
        {%- if node.meta.spark_relation -%}
            {{ return('select * from ' ~ node.meta.spark_relation | replace('{path}', path)) }}
        {%- endif -%}
        {{ return('select * from parquet.`' ~ path ~ '`') }}
    {%- endif -%}
    {{ log("optional source " ~ source_name ~ "." ~ table_name ~ " absent (" ~ path ~ "): typed empty relation", info=true) }}
    {%- set cols = [] -%}
    {%- for col in node.columns.values() -%}
        {%- do cols.append('cast(null as ' ~ codeintel.spark_type(col.data_type) ~ ') as ' ~ adapter.quote(col.name)) -%}
    {%- endfor -%}
    {{ return('select ' ~ cols | join(', ') ~ ' where false') }}
{% endmacro %}
