{#- Why: nDCG@k divides by the DCG of an ideal ranking, Σ_{i=1..m} 1/log2(i+1) with
    m = min(|positives|, k); a list comprehension is DuckDB-only, so it lives here. -#}
{% macro ideal_dcg(count_expr) %}
    {{ return(adapter.dispatch('ideal_dcg', 'codeintel')(count_expr)) }}
{% endmacro %}

{% macro default__ideal_dcg(count_expr) %}
    list_sum(list_transform(range(1, {{ count_expr }} + 1), lambda i: 1.0 / log2(i + 1.0)))
{% endmacro %}

{#- Spark: sequence(1, 0) counts down, so m < 1 is the empty sum (null, as list_sum([]) is);
    aggregate adds the terms in the same order as list_sum. -#}
{% macro spark__ideal_dcg(count_expr) %}
    case
        when {{ count_expr }} >= 1
            then aggregate(
                sequence(1, {{ count_expr }}),
                cast(0 as double),
                (total, i) -> total + cast(1 as double) / log2(i + cast(1 as double))
            )
    end
{% endmacro %}
