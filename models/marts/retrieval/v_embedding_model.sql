with

files as (

    select * from {{ ref('stg_embedding_model') }}

),

final as (

    select
        files.model,
        files.embedding_dim,
        files.is_normalized,
        files.kind,
        files.backend,
        files.precision,
        cast(count(*) as integer) as count_files
    from files
    where files.model is not null
    group by
        files.model, files.embedding_dim, files.is_normalized, files.kind, files.backend, files.precision

)

select * from final
