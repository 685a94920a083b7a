-- The chunks contract (and `indexctl validate`, and the index loader) refuse vectors with NaN or
-- inf, all-zero vectors, and vectors that are not unit length where they must be: when the
-- chunks say they are normalized, or when the published index uses inner product (ip). One
-- failing row per bad chunk, named by chunk_id and uri. A NaN/inf value makes the squared norm
-- NaN/inf, so one inner product per row checks every value.

with

chunks as (

    select * from {{ ref('stg_chunks') }}

),

index_versions as (

    select * from {{ ref('stg_index_versions') }}

),

current_version as (

    select * from {{ ref('stg_current_version') }}

),

published as (

    select index_versions.metric
    from index_versions
    inner join current_version on index_versions.version = current_version.version

),

expected as (

    select
        {{ codeintel.chunks_normalized() }}
        or (select count(*) from published where published.metric in ('ip', 'inner_product')) > 0
            as must_be_unit

),

squared as (

    select
        chunks.chunk_id,
        chunks.uri,
        {{ codeintel.squared_norm('chunks.embedding') }} as squared_norm
    from chunks
    where chunks.embedding is not null

),

checked as (

    select
        squared.chunk_id,
        squared.uri,
        squared.squared_norm,
        case
            when not {{ codeintel.is_finite('squared.squared_norm') }} then 'embedding contains NaN or inf'
            when squared.squared_norm = 0 then 'embedding is the zero vector'
            when
                (select expected.must_be_unit from expected)
                and abs(sqrt(squared.squared_norm) - 1) > 1e-3
                then 'embedding is not unit length (L2 norm ' || round(sqrt(squared.squared_norm), 4) || ')'
        end as problem
    from squared

)

select * from checked
where problem is not null
