{#- Why: module assignment is a longest-prefix match on path segments; expanding each uri into
    its ancestor paths ('a/b/c.py', 'a/b', 'a', '') turns it into an equality join instead of
    a nested-loop LIKE join over every (chunk, module) pair. -#}
{% macro path_ancestors(uri_column) %}
    {{ return(adapter.dispatch('path_ancestors', 'codeintel')(uri_column)) }}
{% endmacro %}

{% macro default__path_ancestors(uri_column) %}
    list_transform(
        range(0, len(string_split({{ uri_column }}, '/')) + 1),
        lambda i: array_to_string(string_split({{ uri_column }}, '/')[1:i], '/')
    )
{% endmacro %}

{% macro spark__path_ancestors(uri_column) %}
    {#- sequence() includes its end, split() takes a regular expression, slice(a, 1, 0) = [] -#}
    transform(
        sequence(0, size(split({{ uri_column }}, '/'))),
        i -> array_join(slice(split({{ uri_column }}, '/'), 1, i), '/')
    )
{% endmacro %}
