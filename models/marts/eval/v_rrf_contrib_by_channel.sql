{%- set k0 = codeintel.checked_var('rrf_k0', 'int', min_value=0) -%}
{%- set cutoff = codeintel.checked_var('rrf_rank_cutoff', 'int', min_value=1) -%}

with

pools as (

    select * from {{ ref('stg_eval_pools') }}

),

channels as (

    select * from {{ ref('channels') }}

),

queries as (

    select * from {{ ref('stg_eval_queries') }}

),

fusion_inputs as (

    -- the hybrid channel fuses the RRF input channels only: fused channels are its output
    -- and the exact flat oracle is a reference (seeds/channels.csv is_rrf_input)
    select pools.*
    from pools
    inner join channels on pools.channel = channels.channel
    where channels.is_rrf_input

),

scored as (

    select
        fusion_inputs.run_id,
        fusion_inputs.query_id,
        fusion_inputs.channel,
        fusion_inputs.rank,
        fusion_inputs.rank <= {{ cutoff | int }} as is_within_cutoff,
        {{ codeintel.rrf_contribution('fusion_inputs.rank', k0, cutoff) }} as rrf_contribution,
        coalesce(
            {{ codeintel.list_contains('queries.positive_chunk_ids', 'fusion_inputs.chunk_id') }}, false
        ) as is_relevant
    from fusion_inputs
    left join queries on fusion_inputs.query_id = queries.query_id

),

per_channel as (

    select
        scored.run_id,
        scored.query_id,
        scored.channel,
        count(*) filter (where scored.is_within_cutoff) as count_hits,
        count(*) filter (where scored.is_within_cutoff and scored.is_relevant) as count_relevant_hits,
        min(scored.rank) filter (where scored.is_within_cutoff and scored.is_relevant) as best_relevant_rank,
        sum(scored.rrf_contribution) as rrf_contribution,
        coalesce(
            sum(scored.rrf_contribution) filter (where scored.is_relevant), 0.0
        ) as rrf_contribution_relevant
    from scored
    group by scored.run_id, scored.query_id, scored.channel

),

per_query as (

    select
        per_channel.run_id,
        per_channel.query_id,
        sum(per_channel.rrf_contribution) as fused_score_total
    from per_channel
    group by per_channel.run_id, per_channel.query_id

),

final as (

    select
        per_channel.run_id,
        per_channel.query_id,
        per_channel.channel,
        cast(per_channel.count_hits as bigint) as count_hits,
        cast(per_channel.count_relevant_hits as bigint) as count_relevant_hits,
        cast(per_channel.best_relevant_rank as integer) as best_relevant_rank,
        cast(per_channel.rrf_contribution as double) as rrf_contribution,
        cast(per_channel.rrf_contribution_relevant as double) as rrf_contribution_relevant,
        cast(per_query.fused_score_total as double) as fused_score_total,
        cast(per_channel.rrf_contribution / nullif(per_query.fused_score_total, 0) as double)
            as share_of_fused_score,
        cast({{ k0 | int }} as integer) as rrf_k0,
        cast({{ cutoff | int }} as integer) as rank_cutoff
    from per_channel
    inner join per_query
        on per_channel.run_id = per_query.run_id
        and per_channel.query_id = per_query.query_id

)

select * from final
