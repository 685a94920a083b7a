{#- Why: the catalog must know which embedder wrote the chunks (embed() in `indexctl catalog
    query` embeds text with it) even when the file is opened away from its data root, so
    staging stores the codeintel.* key-value metadata of every chunks file. Reading Parquet
    key-value metadata is DuckDB-specific (parquet_kv_metadata). Returns a relation with one row
    per file and key: file_name (the file's base name, never a path), key, value. -#}
{% macro chunk_file_metadata() %}
    {{ return(adapter.dispatch('chunk_file_metadata', 'codeintel')()) }}
{% endmacro %}

{% macro default__chunk_file_metadata() %}
    {%- if execute -%}
        {%- set node = codeintel.source_meta('ingest', 'chunks') -%}
        select
            regexp_extract(file_name, '[^/]+$') as file_name,
            decode(key) as key,
            decode(value) as value
        from parquet_kv_metadata('{{ node.meta.path | replace("'", "''") }}')
        where decode(key) like 'codeintel.%'
    {%- else -%}
        select cast(null as varchar) as file_name, cast(null as varchar) as key, cast(null as varchar) as value
        where false
    {%- endif -%}
{% endmacro %}

{#- Spark SQL cannot read Parquet key-value metadata: no rows (stg_embedding_model and
    v_embedding_model are empty on Spark; docs/catalog.md#spark). -#}
{% macro spark__chunk_file_metadata() %}
    select cast(null as string) as file_name, cast(null as string) as key, cast(null as string) as value
    where false
{% endmacro %}
