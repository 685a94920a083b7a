with

query_channels as (

    select * from {{ ref('int_eval_query_channels') }}

),

queries as (

    select * from {{ ref('stg_eval_queries') }}

),

runs as (

    select * from {{ ref('stg_eval_runs') }}

),

run_order as (

    select
        runs.run_id,
        runs.started_at,
        cast(dense_rank() over (order by runs.started_at, runs.run_id) as integer) as run_sequence
    from runs

),

scored as (

    -- queries without positives are not scored (as in `indexctl eval run`)
    select
        query_channels.*,
        coalesce(queries.origin, 'unknown') as origin
    from query_channels
    left join queries on query_channels.query_id = queries.query_id
    where query_channels.count_positives > 0

),

final as (

    select
        scored.run_id,
        scored.channel,
        scored.origin,
        run_order.started_at,
        run_order.run_sequence,
        cast(max(scored.k) as integer) as k,
        cast(count(*) as integer) as count_queries,
        cast(avg(scored.recall_at_k) as double) as recall_at_k,
        cast(avg(scored.reciprocal_rank_at_k) as double) as mrr_at_k,
        cast(avg(scored.ndcg_at_k) as double) as ndcg_at_k,
        avg(case when scored.is_hit_at_k then cast(1 as double) else cast(0 as double) end) as hit_rate_at_k
    from scored
    inner join run_order on scored.run_id = run_order.run_id
    group by scored.run_id, scored.channel, scored.origin, run_order.started_at, run_order.run_sequence

)

select * from final
