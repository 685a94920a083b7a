-- The published index the catalog read must be the one faiss/CURRENT names, exactly as its
-- version.json describes it (the index loader checks the same before every search): the id map
-- file's sha256 equals the manifest's idmap_sha256, its rows equal ntotal, and every row names
-- that version. A tampered id map, or files of another version, fail here. Nothing published:
-- nothing to check.
with

idmap as (

    select * from {{ ref('stg_faiss_idmap') }}

),

idmap_file as (

    select * from {{ ref('stg_faiss_idmap_file') }}

),

index_versions as (

    select * from {{ ref('stg_index_versions') }}

),

current_version as (

    select * from {{ ref('stg_current_version') }}

),

published as (

    select
        current_version.version,
        index_versions.idmap_sha256,
        index_versions.ntotal
    from current_version
    left join index_versions on current_version.version = index_versions.version

),

problems as (

    select
        published.version,
        'no version.json for the published version' as problem
    from published
    where published.idmap_sha256 is null

    union all

    select
        published.version,
        'id map sha256 ' || idmap_file.idmap_sha256 || ' differs from version.json idmap_sha256 '
        || published.idmap_sha256 as problem
    from published
    cross join idmap_file
    where idmap_file.idmap_sha256 <> published.idmap_sha256

    union all

    select
        published.version,
        'no id map file for the published version' as problem
    from published
    where not exists (select 1 from idmap_file)

    union all

    select
        published.version,
        'id map has ' || (select count(*) from idmap) || ' rows, version.json ntotal is '
        || published.ntotal as problem
    from published
    where (select count(*) from idmap) <> published.ntotal

    union all

    select
        published.version,
        'id map rows name version ' || idmap.build_version as problem
    from published
    inner join idmap on published.version <> idmap.build_version
    group by published.version, idmap.build_version

)

select * from problems
