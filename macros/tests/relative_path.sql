{#- Why: a uri is a repository-relative POSIX path (docs/contracts.md#conventions); an absolute
    path, a `..` segment or a backslash would point hydrated hits (and anything that opens the
    file) outside the repository. Same rule as `indexctl validate chunks`. Fails with every
    row whose value is empty, absolute, holds a backslash or a `..` segment, or is null. -#}
{% test relative_path(model, column_name, key_column) %}
    {{ return(adapter.dispatch('test_relative_path', 'codeintel')(model, column_name, key_column)) }}
{% endtest %}

{% macro default__test_relative_path(model, column_name, key_column) %}
select
    {{ key_column }},
    {{ column_name }} as path
from {{ model }}
where {{ column_name }} is null
    or {{ column_name }} = ''
    or starts_with({{ column_name }}, '/')
    or contains({{ column_name }}, '\')
    or list_contains(string_split({{ column_name }}, '/'), '..')
{% endmacro %}

{#- Spark: startswith/contains/split; the backslash is written escaped (Spark string literals
    read backslash escapes). -#}
{% macro spark__test_relative_path(model, column_name, key_column) %}
select
    {{ key_column }},
    {{ column_name }} as path
from {{ model }}
where {{ column_name }} is null
    or {{ column_name }} = ''
    or startswith({{ column_name }}, '/')
    or contains({{ column_name }}, '\\')
    or array_contains(split({{ column_name }}, '/'), '..')
{% endmacro %}
