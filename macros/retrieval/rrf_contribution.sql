{#- Why: reciprocal-rank fusion is used by several marts and unit-tested once: a hit at rank r
    contributes 1 / (k0 + r); ranks past the cut-off contribute nothing. -#}
{% macro rrf_contribution(rank_column, k0=none, cutoff=none) %}
    {{ return(adapter.dispatch('rrf_contribution', 'codeintel')(rank_column, k0, cutoff)) }}
{% endmacro %}

{% macro default__rrf_contribution(rank_column, k0, cutoff) %}
    {%- set k0 = codeintel.checked_var('rrf_k0', 'int', min_value=0) if k0 is none else k0 -%}
    {%- set cutoff = codeintel.checked_var('rrf_rank_cutoff', 'int', min_value=1) if cutoff is none else cutoff -%}
    case
        when {{ rank_column }} between 1 and {{ cutoff | int }}
            then 1.0 / ({{ k0 | float }} + {{ rank_column }})
        else 0.0
    end
{% endmacro %}

{#- Spark reads 1.0 as a DECIMAL literal and decimal division rounds (to 6 digits): the
    contribution is computed in double precision, as DuckDB does. -#}
{% macro spark__rrf_contribution(rank_column, k0, cutoff) %}
    {%- set k0 = var('rrf_k0') if k0 is none else k0 -%}
    {%- set cutoff = var('rrf_rank_cutoff') if cutoff is none else cutoff -%}
    case
        when {{ rank_column }} between 1 and {{ cutoff | int }}
            then cast(1 as double) / (cast({{ k0 | float }} as double) + {{ rank_column }})
        else cast(0 as double)
    end
{% endmacro %}
