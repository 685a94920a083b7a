with

source as (

    {{ codeintel.optional_source('facts', 'modules') }}

),

renamed as (

    select
        ---------- ids
        cast(module_id as {{ dbt.type_string() }}) as module_id,
        cast(uri_prefix as {{ dbt.type_string() }}) as uri_prefix,
        {{ codeintel.normalize_prefix('uri_prefix') }} as path_prefix,
        cast(language as {{ dbt.type_string() }}) as language,

        ---------- numerics
        cast(size_loc as integer) as size_loc,
        cast(cyclomatic as double) as cyclomatic,
        cast(doc_cov as double) as doc_cov,
        cast(in_deg as integer) as in_deg,
        cast(out_deg as integer) as out_deg,
        cast(centrality as double) as centrality

    from source

)

select * from renamed
