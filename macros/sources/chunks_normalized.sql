{#- Why: whether the chunk vectors must be unit length is recorded in the chunks' Parquet
    key-value metadata (codeintel.embedding.normalized, written by every embedder); returns
    the SQL literal true when any chunks file says so. -#}
{% macro chunks_normalized() %}
    {{ return(adapter.dispatch('chunks_normalized', 'codeintel')()) }}
{% endmacro %}

{% macro default__chunks_normalized() %}
    {%- if not execute -%}
        {{ return('false') }}
    {%- endif -%}
    {%- set path = codeintel.source_meta('ingest', 'chunks').meta.path | replace("'", "''") -%}
    {%- set sql -%}
        select count(*) from parquet_kv_metadata('{{ path }}')
        where decode(key) = 'codeintel.embedding.normalized' and decode(value) = 'true'
    {%- endset -%}
    {{ return('true' if run_query(sql).columns[0].values()[0] > 0 else 'false') }}
{% endmacro %}

{#- Spark SQL cannot read Parquet key-value metadata (see chunk_file_metadata): on Spark the
    unit-length check of assert_chunk_embeddings_valid applies only when the published index
    uses inner product (docs/catalog.md#spark). -#}
{% macro spark__chunks_normalized() %}
    {{ return('false') }}
{% endmacro %}
