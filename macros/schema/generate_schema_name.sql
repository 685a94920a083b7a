{#- Why: the catalog uses fixed, readable schemas (main for the marts analysts query, staging,
    reference for seeds, audit for stored test failures) instead of dbt's default
    "<target schema>_<custom schema>" concatenation. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
