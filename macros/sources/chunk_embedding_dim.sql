{#- Why: the chunks contract stores embeddings as a Parquet LIST whose width d depends on the
    embedding model; staging casts them to DuckDB FLOAT[d], so d is read at run time from the
    codeintel.embedding.dim key-value metadata (or, for files without it, the most common
    list length; var embedding_dim_default when there are no rows at all). -#}
{% macro chunk_embedding_dim() %}
    {{ return(adapter.dispatch('chunk_embedding_dim', 'codeintel')()) }}
{% endmacro %}

{% macro default__chunk_embedding_dim() %}
    {%- set fallback = codeintel.checked_var('embedding_dim_default', 'int', min_value=1, default=384) -%}
    {%- if not execute -%}
        {{ return(fallback) }}
    {%- endif -%}
    {%- set node = codeintel.source_meta('ingest', 'chunks') -%}
    {%- set path = node.meta.path | replace("'", "''") -%}
    {%- if not codeintel.files_exist(node.meta.path) -%}
        {{ exceptions.raise_compiler_error(
            "no chunks Parquet under " ~ node.meta.path ~ ": run `indexctl ingest <repo>` first, "
            ~ "or point CODEINTEL_DATA_ROOT / --vars data_root at a data root that has one") }}
    {%- endif -%}
    {%- set meta_sql -%}
        select max(try_cast(decode(value) as integer))
        from parquet_kv_metadata('{{ path }}')
        where decode(key) = 'codeintel.embedding.dim'
    {%- endset -%}
    {%- set from_meta = run_query(meta_sql).columns[0].values()[0] -%}
    {%- if from_meta is not none -%}
        {{ return(from_meta | int) }}
    {%- endif -%}
    {%- set len_sql -%}
        select len(embedding) as d
        from read_parquet('{{ path }}', union_by_name = true)
        group by d
        order by count(*) desc, d
        limit 1
    {%- endset -%}
    {%- set rows = run_query(len_sql).columns[0].values() -%}
    {{ return((rows[0] | int) if rows | length > 0 and rows[0] is not none else fallback) }}
{% endmacro %}

{#- Spark SQL cannot read Parquet key-value metadata: d is the most common embedding width
    (the contract's d when the files agree; single_embedding_dim names any row that differs). -#}
{% macro spark__chunk_embedding_dim() %}
    {%- set fallback = var('embedding_dim_default', 384) | int -%}
    {%- if not execute -%}
        {{ return(fallback) }}
    {%- endif -%}
    {%- set node = codeintel.source_meta('ingest', 'chunks') -%}
    {%- if not codeintel.files_exist(node.meta.path) -%}
        {{ exceptions.raise_compiler_error(
            "no chunks Parquet under " ~ node.meta.path ~ ": run `indexctl ingest <repo>` first, "
            ~ "or point CODEINTEL_DATA_ROOT / --vars data_root at a data root that has one") }}
    {%- endif -%}
    {%- set len_sql -%}
        select size(embedding) as d
        from {{ source('ingest', 'chunks') }}
        group by size(embedding)
        order by count(*) desc, d
        limit 1
    {%- endset -%}
    {%- set rows = run_query(len_sql).columns[0].values() -%}
    {{ return((rows[0] | int) if rows | length > 0 and rows[0] is not none else fallback) }}
{% endmacro %}
