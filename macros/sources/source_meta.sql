{#- Why: staging macros need a source table's declared meta (its data-root path) and column
    types at run time; they live in the graph, keyed by the source's unique id. -#}
{% macro source_meta(source_name, table_name) %}
    {%- set key = 'source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name -%}
    {%- if key not in graph.sources -%}
        {{ exceptions.raise_compiler_error("unknown source " ~ source_name ~ "." ~ table_name) }}
    {%- endif -%}
    {{ return(graph.sources[key]) }}
{% endmacro %}
