{{ config(materialized='table') }}
{%- set rrf_k0 = codeintel.checked_var('rrf_k0', 'int', min_value=0) -%}
{%- set rrf_rank_cutoff = codeintel.checked_var('rrf_rank_cutoff', 'int', min_value=1) -%}
{%- set idmap_min_coverage = codeintel.checked_var(
    'idmap_min_coverage', 'float', min_value=0, max_value=1
) -%}
{%- set tolerance = codeintel.checked_var('eval_regression_tolerance', 'float', min_value=0) -%}
{%- set data_root = var('data_root', env_var('CODEINTEL_DATA_ROOT', 'data')) | string -%}

with

current_version as (

    select * from {{ ref('stg_current_version') }}

),

-- depends on the inputs listing, so it is built once every input was listed
inputs as (

    select * from {{ ref('catalog_inputs') }}

),

final as (

    select
        cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as build_id,
        cast(current_timestamp as {{ codeintel.type_of('timestamp with time zone') }}) as built_at,
        (select max(current_version.version) from current_version) as published_version,
        cast({{ codeintel.sql_string(data_root) }} as {{ dbt.type_string() }}) as data_root,
        cast((select count(*) from inputs where inputs.relative_path is not null) as bigint)
            as count_input_files,
        cast('{{ dbt_version }}' as {{ dbt.type_string() }}) as dbt_version,
        cast({{ codeintel.duckdb_version() }} as {{ dbt.type_string() }}) as duckdb_version,
        cast({{ rrf_k0 }} as integer) as rrf_k0,
        cast({{ rrf_rank_cutoff }} as integer) as rrf_rank_cutoff,
        cast({{ idmap_min_coverage }} as double) as idmap_min_coverage,
        cast({{ tolerance }} as double) as eval_regression_tolerance
    from (select 1) as one_row

)

select * from final
