{#- Why: analysts ask similarity questions from SQL ("which chunks are like this one", "which
    match this sentence", "which are near-duplicates") in any DuckDB client, without the FAISS
    index or this package. The catalog holds every embedding as FLOAT[d], so these table macros
    are stored in the catalog file itself (schema main), created at the end of every dbt run
    (on-run-end in dbt_project.yml). They rank by the inner product, FAISS IndexFlatIP's metric
    (cosine for the L2-normalized vectors every built-in embedder writes), exactly: a full scan,
    no ANN. Table macros are DuckDB-only: other adapters create nothing. `embed(text)` is not
    here: it is a Python function that `indexctl catalog query` registers on its connection
    (python_ext/catalog/semantic.py). -#}
{% macro create_semantic_macros() %}
    {{ return(adapter.dispatch('create_semantic_macros', 'codeintel')()) }}
{% endmacro %}

{% macro default__create_semantic_macros() %}
    {{ log("semantic SQL macros are DuckDB table macros; not created on " ~ target.type, info=true) }}
    select 1
{% endmacro %}

{% macro duckdb__create_semantic_macros() %}
    {#- a partial run (dbt run --select stg_x) on a database without v_chunks: DuckDB binds a
        table macro's tables when it is created, so creating them would fail the whole run -#}
    {%- if execute -%}
        {%- set found = run_query(
            "select count(*) from information_schema.tables where table_catalog = current_database()"
            ~ " and table_schema = 'main' and table_name = 'v_chunks'"
        ).columns[0].values()[0] -%}
        {%- if found == 0 -%}
            {{ log("semantic SQL macros not created: main.v_chunks is not in this database (partial run)", info=true) }}
            {{ return('select 1') }}
        {%- endif -%}
    {%- endif -%}
    {%- set dim = codeintel.chunk_embedding_dim() | int -%}
    {%- set columns = 'chunks.chunk_id, chunks.uri, chunks.start_line, chunks.end_line, chunks.language, chunks.preview' -%}
    -- the k chunks most similar to a chunk of the catalog (the chunk itself excluded)
    create or replace macro main.similar_chunks(query_chunk_id, k := 10) as table
        with
        query as (
            select embedding from main.v_chunks where chunk_id = query_chunk_id
        ),
        top_k as (
            select
                {{ columns }},
                array_inner_product(chunks.embedding, query.embedding) as similarity
            from main.v_chunks as chunks, query
            where chunks.chunk_id <> query_chunk_id and chunks.embedding is not null
            order by similarity desc, chunks.chunk_id
            limit k
        )
        select cast(row_number() over (order by similarity desc, chunk_id) as integer) as rank, *
        from top_k
        order by rank;

    -- the k chunks nearest to a vector of the catalog's width d (e.g. embed('some text'))
    create or replace macro main.nearest_chunks(query_vector, k := 10) as table
        with
        top_k as (
            select
                {{ columns }},
                array_inner_product(chunks.embedding, cast(query_vector as float[{{ dim }}])) as similarity
            from main.v_chunks as chunks
            where chunks.embedding is not null
            order by similarity desc, chunks.chunk_id
            limit k
        )
        select cast(row_number() over (order by similarity desc, chunk_id) as integer) as rank, *
        from top_k
        order by rank;

    -- every pair of distinct chunks (uri LIKE uri_like, both sides) whose similarity is at least
    -- threshold. Exact and quadratic: it refuses to compare more than max_pairs pairs.
    create or replace macro main.near_duplicates(threshold := 0.95, uri_like := '%', max_pairs := 50000000) as table
        with
        guard as (
            -- counted from narrow columns; it is the one-row side of the scope's join, computed
            -- first, so a refusal comes before any embedding is read
            select
                case
                    when count(*) * (count(*) - 1) / 2 > max_pairs then error(
                        'near_duplicates: ' || count(*) || ' chunks match uri_like = ''' || uri_like
                        || ''', that is ' || (count(*) * (count(*) - 1) // 2) || ' pairs, more than max_pairs = '
                        || max_pairs || '; narrow uri_like (e.g. ''src/auth/%'') or raise max_pairs'
                    )
                end as refused
            from main.v_chunks
            where uri like uri_like and embedding_dim = {{ dim }}
        ),
        scope as (
            select chunks.chunk_id, chunks.uri, chunks.start_line, chunks.embedding
            from main.v_chunks as chunks
            cross join guard
            where chunks.uri like uri_like and chunks.embedding_dim = {{ dim }} and guard.refused is null
        ),
        pairs as (
            select
                a.chunk_id as chunk_id_a,
                b.chunk_id as chunk_id_b,
                a.uri as uri_a,
                a.start_line as start_line_a,
                b.uri as uri_b,
                b.start_line as start_line_b,
                array_inner_product(a.embedding, b.embedding) as similarity
            from scope as a
            cross join scope as b
            where a.chunk_id < b.chunk_id
        )
        select * from pairs
        where similarity >= threshold
        order by similarity desc, chunk_id_a, chunk_id_b;
{% endmacro %}
