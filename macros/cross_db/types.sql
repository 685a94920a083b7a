{#- Why: the catalog builds on DuckDB (the default) and on Spark (`--target spark`, see
    docs/catalog.md#spark). The project writes column types once, in DuckDB's spelling
    (varchar, integer, varchar[], float[8], struct(a varchar)[], timestamp with time zone,
    json, blob); spark_type() translates such a name to Spark SQL (string, int, array<string>,
    array<float>, array<struct<a:string>>, timestamp, string, binary). Spark type names pass
    through unchanged, so the translation can be applied to any type string. -#}
{% macro spark_type(data_type) %}
    {%- set t = data_type | trim | lower -%}
    {%- if t.endswith('[]') -%}
        {{ return('array<' ~ codeintel.spark_type(t[:-2]) ~ '>') }}
    {%- endif -%}
    {%- if t.endswith(']') and '[' in t -%}
        {#- fixed-size DuckDB ARRAY (float[8]): Spark arrays have no fixed size -#}
        {{ return('array<' ~ codeintel.spark_type(t[:t.rindex('[')]) ~ '>') }}
    {%- endif -%}
    {%- if t.startswith('struct(') and t.endswith(')') -%}
        {%- set fields = [] -%}
        {%- for part in codeintel.split_top_level(t[7:-1]) -%}
            {%- set name_and_type = part | trim -%}
            {%- set name = name_and_type.split(' ')[0] -%}
            {%- do fields.append(name ~ ':' ~ codeintel.spark_type(name_and_type[name | length:])) -%}
        {%- endfor -%}
        {{ return('struct<' ~ fields | join(',') ~ '>') }}
    {%- endif -%}
    {%- set names = {
        'varchar': 'string', 'text': 'string', 'json': 'string', 'integer': 'int',
        'blob': 'binary', 'timestamp with time zone': 'timestamp', 'timestamptz': 'timestamp',
    } -%}
    {{ return(names.get(t, t)) }}
{% endmacro %}

{#- "a varchar, b struct(c int, d int)" -> ["a varchar", "b struct(c int, d int)"] -#}
{% macro split_top_level(text) %}
    {%- set parts = [] -%}
    {%- set state = namespace(depth=0, current='') -%}
    {%- for ch in text -%}
        {%- if ch == ',' and state.depth == 0 -%}
            {%- do parts.append(state.current) -%}
            {%- set state.current = '' -%}
        {%- else -%}
            {%- if ch in '(<' -%}{%- set state.depth = state.depth + 1 -%}{%- endif -%}
            {%- if ch in ')>' -%}{%- set state.depth = state.depth - 1 -%}{%- endif -%}
            {%- set state.current = state.current ~ ch -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do parts.append(state.current) -%}
    {{ return(parts) }}
{% endmacro %}

{#- dbt's cast() on Spark, with the DuckDB type names translated (contracts build their
    empty-schema query with it, so the models' yml declares each type once). -#}
{% macro spark__cast(field, type) %}
    cast({{ field }} as {{ codeintel.spark_type(type) }})
{%- endmacro %}

{#- A type name in the target's spelling: DuckDB names as written, translated on Spark. -#}
{% macro type_of(data_type) %}
    {{ return(adapter.dispatch('type_of', 'codeintel')(data_type)) }}
{% endmacro %}

{% macro default__type_of(data_type) %}{{ return(data_type) }}{% endmacro %}

{% macro spark__type_of(data_type) %}{{ return(codeintel.spark_type(data_type)) }}{% endmacro %}

{#- dbt.type_string() is the cross-database text type (string on Spark); dbt-duckdb would
    render TEXT, the project spells DuckDB's text type varchar (and lints types lower-case). -#}
{% macro duckdb__type_string() %}varchar{% endmacro %}

{#- a double is neither NaN nor ±inf: isfinite(x) / Spark, which has no isfinite -#}
{% macro is_finite(value) %}
    {{ return(adapter.dispatch('is_finite', 'codeintel')(value)) }}
{% endmacro %}

{% macro default__is_finite(value) %}isfinite({{ value }}){% endmacro %}

{% macro spark__is_finite(value) %}(not isnan({{ value }}) and abs({{ value }}) <> double('infinity')){% endmacro %}
