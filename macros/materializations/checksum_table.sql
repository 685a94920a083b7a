{#- Why: faiss_idmap_mat is the largest table of the catalog and only changes when the
    published FAISS id map (or the chunk keys it joins) changes. This materialization keeps a
    checksum column inside the table itself; before building it reads the new checksum from
    the model named by config `checksum_model` (one row, column `checksum_column`). Equal
    checksums make the run a no-op, logged as "unchanged"; a different, missing or unreadable
    checksum (or --full-refresh) replaces the table whole through dbt-duckdb's own table
    materialization (build aside, swap, indexes from config `indexes`, contract enforced). -#}
{% materialization checksum_table, adapter='duckdb' %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set checksum_column = config.get('checksum_column', 'source_checksum') -%}
    {%- set checksum_model = config.require('checksum_model') -%}

    {%- set new_checksum = run_query(
        'select max(' ~ adapter.quote(checksum_column) ~ ') from ' ~ ref(checksum_model)
    ).columns[0].values()[0] -%}

    {%- set old_checksum = none -%}
    {%- if existing_relation is not none and existing_relation.is_table and not should_full_refresh() -%}
        {%- set existing_columns = adapter.get_columns_in_relation(existing_relation) | map(attribute='name') | list -%}
        {%- if checksum_column in existing_columns -%}
            {%- set old_checksum = run_query(
                'select max(' ~ adapter.quote(checksum_column) ~ ') from ' ~ existing_relation
            ).columns[0].values()[0] -%}
        {%- endif -%}
    {%- endif -%}

    {%- if new_checksum is not none and old_checksum is not none and new_checksum == old_checksum -%}
        {{ log(this.identifier ~ ": source checksum unchanged (" ~ new_checksum ~ "); table kept as is, no rewrite", info=true) }}
        {{ run_hooks(pre_hooks) }}
        {%- call statement('main') -%}
            select count(*) as count_rows from {{ existing_relation }}
        {%- endcall -%}
        {{ run_hooks(post_hooks) }}
        {{ return({'relations': [target_relation]}) }}
    {%- endif -%}

    {{ log(this.identifier ~ ": source checksum changed (" ~ (old_checksum or 'none') ~ " -> " ~ (new_checksum or 'none') ~ "); rebuilding the table", info=true) }}
    {{ return(materialization_table_duckdb()) }}
{% endmaterialization %}
