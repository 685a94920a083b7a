{#- Why: FAISS needs one vector width; a chunk file written by another model would poison the
    index. Fails with every chunk whose embedding width differs from the most common one (or
    whose embedding is missing). -#}
{% test single_embedding_dim(model, column_name, key_column) %}
    {{ return(adapter.dispatch('test_single_embedding_dim', 'codeintel')(model, column_name, key_column)) }}
{% endtest %}

{% macro default__test_single_embedding_dim(model, column_name, key_column) %}
with

widths as (

    select {{ column_name }} as width, count(*) as count_rows
    from {{ model }}
    group by {{ column_name }}

),

expected as (

    select width from widths order by count_rows desc, width limit 1

)

select
    {{ model }}.{{ key_column }},
    {{ model }}.{{ column_name }} as width,
    (select width from expected) as expected_width
from {{ model }}
where {{ model }}.{{ column_name }} is distinct from (select width from expected)
{% endmacro %}
