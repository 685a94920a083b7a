{#- Embeddings are incompressible floats: storing this table uncompressed halves the build time
    and makes single-row fetches (hydration) cheap; the ART index on chunk_id serves lookups. -#}
{{
    config(
        pre_hook="{{ codeintel.duckdb_only(\"set force_compression = 'uncompressed'\") }}",
        post_hook="{{ codeintel.duckdb_only('reset force_compression') }}",
        indexes=[{'columns': ['chunk_id']}],
    )
}}
{%- set dim = codeintel.chunk_embedding_dim() -%}

with

source as (

    select * from {{ source('ingest', 'chunks') }}

),

renamed as (

    select
        ---------- ids
        cast(id as bigint) as chunk_id,
        cast(uri as {{ dbt.type_string() }}) as uri,

        ---------- positions (lines 1-based inclusive; bytes 0-based, end exclusive)
        cast(start_line as integer) as start_line,
        cast(end_line as integer) as end_line,
        cast(start_byte as bigint) as start_byte,
        cast(end_byte as bigint) as end_byte,

        ---------- text
        cast(lang as {{ dbt.type_string() }}) as language,
        cast(preview as {{ dbt.type_string() }}) as preview,
        cast(content as {{ dbt.type_string() }}) as content,
        cast(content_hash as {{ dbt.type_string() }}) as content_hash,
        cast(
            coalesce(symbols, {{ codeintel.empty_list('varchar') }}) as {{ codeintel.type_of('varchar[]') }}
        ) as symbols,
        {{ codeintel.optional_column('ingest', 'chunks', 'enclosing_symbol', 'varchar') }}
            as enclosing_symbol,

        ---------- what the embedder was given (optional columns: null for other producers)
        {{ codeintel.optional_column('ingest', 'chunks', 'embed_length', 'integer') }} as embed_length,
        {{ codeintel.optional_column('ingest', 'chunks', 'truncated', 'boolean') }} as is_truncated,

        ---------- embedding (a row whose width differs from d keeps a null embedding and its
        ---------- own width, so the single_embedding_dim test can name it)
        cast({{ codeintel.list_length('embedding') }} as integer) as embedding_dim,
        case
            when {{ codeintel.list_length('embedding') }} = {{ dim }}
                then cast(embedding as {{ codeintel.type_of('float[' ~ dim ~ ']') }})
        end as embedding

    from source

)

select * from renamed
