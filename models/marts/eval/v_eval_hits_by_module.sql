with

pools as (

    select * from {{ ref('stg_eval_pools') }}

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
