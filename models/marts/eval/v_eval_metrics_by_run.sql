with

runs as (

    select * from {{ ref('stg_eval_runs') }}

),

unnested as (

    select
        runs.run_id,
        runs.started_at,
        runs.index_version,
        runs.operating_point,
        runs.k,
        runs.count_queries,
        runs.queries_fingerprint,
        runs.rrf_k0,
        {{ codeintel.unnest('runs.metrics') }} as metric
    from runs

),

final as (

    select
        unnested.run_id,
        unnested.metric.source as channel,
        unnested.started_at,
        unnested.index_version,
        unnested.operating_point,
        unnested.k,
        unnested.count_queries,
        unnested.queries_fingerprint,
        unnested.rrf_k0,
        unnested.metric.recall_at_k as recall_at_k,
        unnested.metric.mrr_at_k as mrr_at_k,
        unnested.metric.ndcg_at_k as ndcg_at_k,
        unnested.metric.oracle_overlap_at_k as oracle_overlap_at_k,
        unnested.metric.queries_per_s as queries_per_s,
        cast(dense_rank() over (order by unnested.started_at, unnested.run_id) as integer) as run_sequence
    from unnested

)

select * from final
