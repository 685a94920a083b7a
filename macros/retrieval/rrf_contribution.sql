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
