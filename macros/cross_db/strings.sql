{#- Why: text functions whose names or semantics differ between DuckDB and Spark. -#}

{#- strip the characters of `characters` (a SQL string expression) from both ends. Spark's
    two-argument trim(a, b) means trim(a FROM b), so the standard form is spelled out. -#}
{% macro trim_chars(text, characters) %}
    {{ return(adapter.dispatch('trim_chars', 'codeintel')(text, characters)) }}
{% endmacro %}

{% macro default__trim_chars(text, characters) %}trim({{ text }}, {{ characters }}){% endmacro %}

{% macro spark__trim_chars(text, characters) %}trim(both {{ characters }} from {{ text }}){% endmacro %}

{#- hex sha256 of a blob: sha256(b) / sha2(b, 256) (same digests) -#}
{% macro sha256_hex(blob) %}
    {{ return(adapter.dispatch('sha256_hex', 'codeintel')(blob)) }}
{% endmacro %}

{% macro default__sha256_hex(blob) %}sha256({{ blob }}){% endmacro %}

{% macro spark__sha256_hex(blob) %}sha2({{ blob }}, 256){% endmacro %}

{#- a 64-bit hash of several columns: DuckDB hash() (UBIGINT) / Spark xxhash64() (BIGINT).
    Different algorithms: the values are engine-specific (change detection only). -#}
{% macro hash64(columns) %}
    {{ return(adapter.dispatch('hash64', 'codeintel')(columns)) }}
{% endmacro %}

{% macro default__hash64(columns) %}hash({{ columns | join(', ') }}){% endmacro %}

{% macro spark__hash64(columns) %}xxhash64({{ columns | join(', ') }}){% endmacro %}

{#- a JSON document's top-level key as text: j ->> 'k' / get_json_object(j, '$.k') -#}
{% macro json_text(document, key) %}
    {{ return(adapter.dispatch('json_text', 'codeintel')(document, key)) }}
{% endmacro %}

{% macro default__json_text(document, key) %}({{ document }} ->> '{{ key }}'){% endmacro %}

{% macro spark__json_text(document, key) %}get_json_object({{ document }}, '$.{{ key }}'){% endmacro %}

{#- a JSON document's top-level key as JSON: j -> 'k' (type json) / the JSON text on Spark -#}
{% macro json_value(document, key) %}
    {{ return(adapter.dispatch('json_value', 'codeintel')(document, key)) }}
{% endmacro %}

{% macro default__json_value(document, key) %}cast({{ document }} -> '{{ key }}' as json){% endmacro %}

{% macro spark__json_value(document, key) %}get_json_object({{ document }}, '$.{{ key }}'){% endmacro %}

{#- a regular expression matching the whole text: regexp_full_match / rlike with anchors -#}
{% macro regexp_full_match(text, pattern) %}
    {{ return(adapter.dispatch('regexp_full_match', 'codeintel')(text, pattern)) }}
{% endmacro %}

{% macro default__regexp_full_match(text, pattern) %}regexp_full_match({{ text }}, {{ pattern }}){% endmacro %}

{% macro spark__regexp_full_match(text, pattern) %}({{ text }} rlike concat('^(?:', {{ pattern }}, ')$')){% endmacro %}

{#- SQL run only on DuckDB (session settings, hooks): empty on other targets -#}
{% macro duckdb_only(sql) %}
    {{ return(sql if target.type == 'duckdb' else '') }}
{% endmacro %}

{#- string_agg(measure, delimiter order by ...), ordered on every engine. dbt.listagg drops the
    order by on Spark, so Spark sorts collect_list(struct(keys..., measure)) itself. The
    delimiter is a SQL string literal written for DuckDB, which keeps backslashes: Spark, which
    would read '\n' as a newline, gets them doubled so both produce the same text. -#}
{% macro ordered_listagg(measure, delimiter_literal, order_by) %}
    {{ return(adapter.dispatch('ordered_listagg', 'codeintel')(measure, delimiter_literal, order_by)) }}
{% endmacro %}

{% macro default__ordered_listagg(measure, delimiter_literal, order_by) -%}
    {{ dbt.listagg(measure, delimiter_literal, 'order by ' ~ order_by | join(', ')) }}
{%- endmacro %}

{% macro spark__ordered_listagg(measure, delimiter_literal, order_by) -%}
    array_join(
        transform(
            array_sort(collect_list(struct(
                {%- for key in order_by %}{{ key }} as k{{ loop.index }}, {% endfor -%}
                {{ measure }} as v
            ))),
            s -> s.v
        ),
        {{ delimiter_literal | replace('\\', '\\\\') }}
    )
{%- endmacro %}

{#- a JSON document's value at `path`, cast to `data_type` (DuckDB spelling, e.g. bigint[][]);
    null when the document is not valid JSON or lacks the path. DuckDB: json_valid +
    json_extract + cast; Spark: get_json_object (null on invalid JSON) + from_json. -#}
{% macro json_typed(document, path, data_type) %}
    {{ return(adapter.dispatch('json_typed', 'codeintel')(document, path, data_type)) }}
{% endmacro %}

{% macro default__json_typed(document, path, data_type) -%}
    case
        when json_valid({{ document }})
            then cast(json_extract({{ document }}, '{{ path }}') as {{ data_type }})
    end
{%- endmacro %}

{% macro spark__json_typed(document, path, data_type) -%}
    from_json(get_json_object({{ document }}, '{{ path }}'), '{{ codeintel.spark_type(data_type) }}')
{%- endmacro %}

{#- a text as a SQL string literal. DuckDB doubles single quotes; Spark reads backslashes as
    escapes, so it gets both backslashes and quotes escaped with one. -#}
{% macro sql_string(text) %}
    {{ return(adapter.dispatch('sql_string', 'codeintel')(text)) }}
{% endmacro %}

{% macro default__sql_string(text) %}{{ return("'" ~ (text | replace("'", "''")) ~ "'") }}{% endmacro %}

{% macro spark__sql_string(text) %}{{ return("'" ~ (text | replace('\\', '\\\\') | replace("'", "\\'")) ~ "'") }}{% endmacro %}

{#- the DuckDB version that builds the catalog: version() on DuckDB; null on Spark (whose own
    version() is Spark's, not DuckDB's). -#}
{% macro duckdb_version() %}
    {{ return(adapter.dispatch('duckdb_version', 'codeintel')()) }}
{% endmacro %}

{% macro default__duckdb_version() %}version(){% endmacro %}

{% macro spark__duckdb_version() %}cast(null as string){% endmacro %}

{#- the text of a (small) file, run at compile time: read_text / Spark's binaryFile source. -#}
{% macro file_text(path) %}
    {{ return(adapter.dispatch('file_text', 'codeintel')(path)) }}
{% endmacro %}

{% macro default__file_text(path) %}
    {{ return(run_query("select content from read_text('" ~ (path | replace("'", "''")) ~ "')").columns[0].values()[0]) }}
{% endmacro %}

{% macro spark__file_text(path) %}
    {{ return(run_query("select cast(content as string) from binaryFile.`" ~ path ~ "`").columns[0].values()[0]) }}
{% endmacro %}
