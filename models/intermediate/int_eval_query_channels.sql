-- One row per evaluation run × query × channel the run ran, for runs whose pool is in the
-- catalog: the per-query metrics `indexctl eval run` averages (python_ext.evaluate.metrics),
-- recomputed from the pool's top k against the query's positives.

with

runs as (

    select * from {{ ref('stg_eval_runs') }}

),

run_queries as (

    select * from {{ ref('int_eval_run_queries') }}

),

pools as (

    select * from {{ ref('stg_eval_pools') }}

),

queries as (

    select * from {{ ref('stg_eval_queries') }}

),

pooled_runs as (

    select distinct pools.run_id from pools

),

run_channels as (

    select
        runs.run_id,
        runs.k,
        unnest(runs.channels) as channel
    from runs
    inner join pooled_runs on runs.run_id = pooled_runs.run_id

),

grid as (

    select
        run_queries.run_id,
        run_queries.query_id,
        run_channels.channel,
        run_channels.k,
        coalesce(queries.count_positives, 0) as count_positives
    from run_queries
    inner join run_channels on run_queries.run_id = run_channels.run_id
    left join queries on run_queries.query_id = queries.query_id

),

judged_hits as (

    select
        pools.run_id,
        pools.query_id,
        pools.channel,
        pools.rank,
        coalesce(list_contains(queries.positive_chunk_ids, pools.chunk_id), false) as is_relevant
    from pools
    left join queries on pools.query_id = queries.query_id

),

per_query as (

    select
        grid.run_id,
        grid.query_id,
        grid.channel,
        grid.k,
        grid.count_positives,
        count(judged_hits.rank) as count_hits,
        count(case when judged_hits.is_relevant then 1 end) as count_relevant_hits,
        min(case when judged_hits.is_relevant then judged_hits.rank end) as first_positive_rank,
        coalesce(
            sum(case when judged_hits.is_relevant then 1.0 / log2(judged_hits.rank + 1.0) end), 0.0
        ) as dcg_at_k
    from grid
    left join judged_hits
        on grid.run_id = judged_hits.run_id
        and grid.query_id = judged_hits.query_id
        and grid.channel = judged_hits.channel
        and grid.k >= judged_hits.rank
    group by grid.run_id, grid.query_id, grid.channel, grid.k, grid.count_positives

),

final as (

    select
        per_query.run_id,
        per_query.query_id,
        per_query.channel,
        cast(per_query.k as integer) as k,
        cast(per_query.count_positives as integer) as count_positives,
        cast(per_query.count_hits as bigint) as count_hits,
        cast(per_query.count_relevant_hits as bigint) as count_relevant_hits,
        cast(per_query.first_positive_rank as integer) as first_positive_rank,
        per_query.first_positive_rank is not null as is_hit_at_k,
        cast(coalesce(1.0 / per_query.first_positive_rank, 0.0) as double) as reciprocal_rank_at_k,
        cast(per_query.count_relevant_hits / nullif(per_query.count_positives, 0) as double) as recall_at_k,
        cast(
            per_query.dcg_at_k
            / nullif({{ codeintel.ideal_dcg('least(per_query.count_positives, per_query.k)') }}, 0)
            as double
        ) as ndcg_at_k
    from per_query

)

select * from final
