{{ config(materialized='table') }}

with

inputs as (

    {{ codeintel.catalog_input_rows() }}

),

final as (

    select
        inputs.source_name || '|' || coalesce(inputs.relative_path, '') as input_key,
        inputs.source_name,
        inputs.path_pattern,
        inputs.relative_path,
        inputs.size_bytes,
        inputs.modified_at
    from inputs

)

select * from final
