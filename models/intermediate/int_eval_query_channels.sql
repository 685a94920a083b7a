-- One row per evaluation run × query × channel the run ran, for runs whose pool is in the
-- catalog: the per-query metrics `indexctl eval run` averages (python_ext.evaluate.metrics),
-- recomputed from the pool's top k against the query's positives. Queries with positive groups
-- (stripped protocol: one group per target function) are scored per group, as there: recall@k
-- is the share of groups with a chunk in the top k, nDCG@k counts the first chunk of each group
-- (a chunk in several groups counts for the last of them), MRR@k is unchanged.

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
        {{ codeintel.unnest('runs.channels') }} as channel
    from runs
    inner join pooled_runs on runs.run_id = pooled_runs.run_id

),

grid as (

    select
        run_queries.run_id,
        run_queries.query_id,
        run_channels.channel,
        run_channels.k,
        coalesce(queries.count_positives, 0) as count_positives,
        coalesce({{ codeintel.list_length('queries.positive_groups') }}, 0) as count_groups
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
        coalesce(
            {{ codeintel.list_contains('queries.positive_chunk_ids', 'pools.chunk_id') }}, false
        ) as is_relevant
    from pools
    left join queries on pools.query_id = queries.query_id

),

query_groups as (

    select
        queries.query_id,
        {{ codeintel.unnest_with_position('queries.positive_groups', 'group_chunk_ids', 'group_index') }}
    from queries
    where {{ codeintel.list_length('queries.positive_groups') }} > 0

),

group_chunks as (

    select
        query_groups.query_id,
        query_groups.group_index,
        {{ codeintel.unnest('query_groups.group_chunk_ids') }} as chunk_id
    from query_groups

),

top_k_pools as (

    select
        pools.run_id,
        pools.query_id,
        pools.channel,
        pools.rank,
        pools.chunk_id
    from pools
    inner join grid
        on pools.run_id = grid.run_id
        and pools.query_id = grid.query_id
        and pools.channel = grid.channel
        and pools.rank <= grid.k
    where grid.count_groups > 0

),

groups_found as (

    select
        top_k_pools.run_id,
        top_k_pools.query_id,
        top_k_pools.channel,
        count(distinct group_chunks.group_index) as count_groups_found
    from top_k_pools
    inner join group_chunks
        on top_k_pools.query_id = group_chunks.query_id
        and top_k_pools.chunk_id = group_chunks.chunk_id
    group by top_k_pools.run_id, top_k_pools.query_id, top_k_pools.channel

),

chunk_groups as (

    select
        group_chunks.query_id,
        group_chunks.chunk_id,
        max(group_chunks.group_index) as group_index
    from group_chunks
    group by group_chunks.query_id, group_chunks.chunk_id

),

group_first_ranks as (

    select
        top_k_pools.run_id,
        top_k_pools.query_id,
        top_k_pools.channel,
        chunk_groups.group_index,
        min(top_k_pools.rank) as first_rank
    from top_k_pools
    inner join chunk_groups
        on top_k_pools.query_id = chunk_groups.query_id
        and top_k_pools.chunk_id = chunk_groups.chunk_id
    group by top_k_pools.run_id, top_k_pools.query_id, top_k_pools.channel, chunk_groups.group_index

),

group_dcg as (

    select
        group_first_ranks.run_id,
        group_first_ranks.query_id,
        group_first_ranks.channel,
        sum(1.0 / log2(group_first_ranks.first_rank + 1.0)) as dcg_at_k
    from group_first_ranks
    group by group_first_ranks.run_id, group_first_ranks.query_id, group_first_ranks.channel

),

per_query as (

    select
        grid.run_id,
        grid.query_id,
        grid.channel,
        grid.k,
        grid.count_positives,
        grid.count_groups,
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
    group by grid.run_id, grid.query_id, grid.channel, grid.k, grid.count_positives, grid.count_groups

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
        coalesce(
            cast(1 as double) / per_query.first_positive_rank, cast(0 as double)
        ) as reciprocal_rank_at_k,
        cast(
            case
                when per_query.count_groups > 0
                    then coalesce(groups_found.count_groups_found, 0) / per_query.count_groups
                else per_query.count_relevant_hits / nullif(per_query.count_positives, 0)
            end as double
        ) as recall_at_k,
        cast(
            case
                when per_query.count_groups > 0
                    then coalesce(group_dcg.dcg_at_k, 0.0)
                        / {{ codeintel.ideal_dcg('least(per_query.count_groups, per_query.k)') }}
                else per_query.dcg_at_k
                    / nullif({{ codeintel.ideal_dcg('least(per_query.count_positives, per_query.k)') }}, 0)
            end as double
        ) as ndcg_at_k
    from per_query
    left join groups_found
        on per_query.run_id = groups_found.run_id
        and per_query.query_id = groups_found.query_id
        and per_query.channel = groups_found.channel
    left join group_dcg
        on per_query.run_id = group_dcg.run_id
        and per_query.query_id = group_dcg.query_id
        and per_query.channel = group_dcg.channel

)

select * from final
