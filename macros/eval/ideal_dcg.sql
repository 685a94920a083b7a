{#- Why: nDCG@k divides by the DCG of an ideal ranking, Σ_{i=1..m} 1/log2(i+1) with
    m = min(|positives|, k); a list comprehension is DuckDB-only, so it lives here. -#}
{% macro ideal_dcg(count_expr) %}
    {{ return(adapter.dispatch('ideal_dcg', 'codeintel')(count_expr)) }}
{% endmacro %}

{% macro default__ideal_dcg(count_expr) %}
    list_sum(list_transform(range(1, {{ count_expr }} + 1), lambda i: 1.0 / log2(i + 1.0)))
{% endmacro %}
