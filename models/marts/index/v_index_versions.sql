with

versions as (

    select * from {{ ref('stg_index_versions') }}

),

current_version as (

    select * from {{ ref('stg_current_version') }}

),

idmap_file as (

    select * from {{ ref('stg_faiss_idmap_file') }}

),

final as (

    select
        versions.version,
        versions.index_name,
        versions.created_at,
        versions.factory,
        versions.metric,
        versions.dim,
        versions.ntotal,
        versions.ntotal - lag(versions.ntotal) over (
            order by versions.created_at, versions.version
        ) as delta_ntotal,
        versions.operating_point,
        versions.embedding_model,
        versions.device,
        versions.build_seconds,
        versions.idmap_sha256,
        versions.chunks_fingerprint,
        versions.tuning,
        current_version.version is not null as is_published,
        case
            when current_version.version is null then null
            else versions.idmap_sha256 = (select max(idmap_file.idmap_sha256) from idmap_file)
        end as is_idmap_verified
    from versions
    left join current_version on versions.version = current_version.version

)

select * from final
