-- One row per evaluation run × query of its query set: the ids the run recorded
-- (runs.parquet query_ids), or, for runs recorded before that column existed, the queries that
-- appear in the run's pool.

with

runs as (

    select * from {{ ref('stg_eval_runs') }}

),

pools as (

    select * from {{ ref('stg_eval_pools') }}

),

recorded as (

    select
        runs.run_id,
        {{ codeintel.unnest('runs.query_ids') }} as query_id
    from runs
    where runs.query_ids is not null

),

from_pools as (

    select distinct
        pools.run_id,
        pools.query_id
    from pools
    inner join runs on pools.run_id = runs.run_id
    where runs.query_ids is null

),

final as (

    select distinct
        recorded.run_id,
        recorded.query_id,
        'run' as query_set_source
    from recorded
    union all
    select
        from_pools.run_id,
        from_pools.query_id,
        'pool' as query_set_source
    from from_pools

)

select * from final
