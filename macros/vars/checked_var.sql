{#- Why: dbt vars come from the command line as text; a typo (`--vars '{rrf_rank_cutoff: abc}'`)
    must fail the build with the var's name, never turn into 0 through `| int`. Returns the var
    as an int or a float, checked against its bounds (``default`` for vars dbt_project.yml does
    not declare). -#}
{% macro checked_var(name, kind, min_value=none, max_value=none, default=none) %}
    {{ return(adapter.dispatch('checked_var', 'codeintel')(name, kind, min_value, max_value, default)) }}
{% endmacro %}

{% macro default__checked_var(name, kind, min_value, max_value, default) %}
    {%- set raw = var(name) if default is none else var(name, default) -%}
    {%- set text = raw | string | trim -%}
    {%- set patterns = {
        'int': '[-+]?[0-9]+',
        'float': '[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?',
    } -%}
    {%- if kind not in patterns -%}
        {{ exceptions.raise_compiler_error("checked_var: unknown kind " ~ kind) }}
    {%- endif -%}
    {%- set ok = raw is not none and raw is not sameas true and raw is not sameas false
        and modules.re.fullmatch(patterns[kind], text) is not none -%}
    {%- if ok -%}
        {%- set value = (text | int) if kind == 'int' else (text | float) -%}
        {%- set ok = (min_value is none or value >= min_value) and (max_value is none or value <= max_value) -%}
    {%- endif -%}
    {%- if not ok -%}
        {%- set bounds = [] -%}
        {%- if min_value is not none -%}{%- do bounds.append('>= ' ~ min_value) -%}{%- endif -%}
        {%- if max_value is not none -%}{%- do bounds.append('<= ' ~ max_value) -%}{%- endif -%}
        {{ exceptions.raise_compiler_error(
            "dbt var " ~ name ~ " must be " ~ ('an integer' if kind == 'int' else 'a number')
            ~ ((' ' ~ bounds | join(' and ')) if bounds else '') ~ ", got " ~ (raw | tojson)
            ~ ": fix --vars (or indexctl catalog refresh --var " ~ name ~ "=VALUE)") }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}
