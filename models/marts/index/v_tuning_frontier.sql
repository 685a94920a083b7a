with

frontier as (

    select * from {{ ref('stg_tuning_frontier') }}

),

versions as (

    select * from {{ ref('stg_index_versions') }}

),

final as (

    select
        frontier.build_version,
        frontier.operating_point,
        frontier.k,
        frontier.factory,
        frontier.recall_at_k,
        frontier.ms_per_query,
        1000.0 / nullif(frontier.ms_per_query, 0) as queries_per_s,
        frontier.is_pareto,
        frontier.is_chosen,
        frontier.recall_at_k - lag(frontier.recall_at_k) over (
            partition by frontier.build_version, frontier.k
            order by frontier.ms_per_query, frontier.operating_point
        ) as recall_gain_vs_faster_point,
        versions.metric,
        versions.dim,
        versions.created_at as version_created_at
    from frontier
    left join versions on frontier.build_version = versions.version

)

select * from final
