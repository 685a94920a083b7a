{#- Why: modules declare uri_prefix as 'pkg', 'pkg/', './pkg' or '' for the root; all of these
    are normalized to the segment form used by path_ancestors ('pkg', '' for the root). -#}
{% macro normalize_prefix(prefix_column) %}
    {{ return(adapter.dispatch('normalize_prefix', 'codeintel')(prefix_column)) }}
{% endmacro %}

{% macro default__normalize_prefix(prefix_column) %}
    {#- [.] rather than \. : Spark string literals would eat the backslash -#}
    {{ codeintel.trim_chars(
        "regexp_replace(regexp_replace(coalesce(" ~ prefix_column ~ ", ''), '^([.]/)+', ''), '^[.]$', '')",
        "'/'"
    ) }}
{% endmacro %}
