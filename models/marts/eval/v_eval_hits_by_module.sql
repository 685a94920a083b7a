with

pools as (

    select * from {{ ref('stg_eval_pools') }}

),

runs as (

    select * from {{ ref('stg_eval_runs') }}

),

queries as (

    select * from {{ ref('stg_eval_queries') }}

),

chunk_modules as (

    select * from {{ ref('v_chunk_modules') }}

),

hits as (

    select
        pools.run_id,
        pools.channel,
        pools.query_id,
        pools.chunk_id,
        chunk_modules.module_id,
        coalesce(
            {{ codeintel.list_contains('queries.positive_chunk_ids', 'pools.chunk_id') }}, false
        ) as is_relevant
    from pools
    -- hits are the run's top k: the pools of the channels hybrid fuses go deeper (to the RRF
    -- rank cut-off) so that the fusion can be recomputed from them
    inner join runs on pools.run_id = runs.run_id and pools.rank <= runs.k
    left join chunk_modules on pools.chunk_id = chunk_modules.chunk_id
    left join queries on pools.query_id = queries.query_id

),

final as (

    select
        hits.run_id,
        hits.channel,
        hits.module_id,
        count(distinct hits.query_id) as count_queries,
        count(*) as count_hits,
        count(*) filter (where hits.is_relevant) as count_relevant_hits
    from hits
    group by hits.run_id, hits.channel, hits.module_id

)

select * from final
