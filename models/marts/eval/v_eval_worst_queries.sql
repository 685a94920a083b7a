{%- set base_channels = codeintel.eval_channels() | reject('equalto', 'hybrid') | list -%}

with

query_results as (

    select * from {{ ref('v_eval_query_results') }}

),

query_channels as (

    select * from {{ ref('int_eval_query_channels') }}

),

channels as (

    select * from {{ ref('channels') }}

),

latest_hybrid_run as (

    -- the latest run that ran the fused channel
    select query_results.run_id
    from query_results
    where query_results.hybrid_hit_at_k is not null
    order by query_results.started_at desc, query_results.run_id desc
    limit 1

),

channel_hits as (

    -- every non-fused channel that ranked a positive in its top k (inputs and the flat oracle)
    select
        query_channels.run_id,
        query_channels.query_id,
        query_channels.channel,
        query_channels.first_positive_rank,
        channels.is_rrf_input
    from query_channels
    inner join latest_hybrid_run on query_channels.run_id = latest_hybrid_run.run_id
    inner join channels on query_channels.channel = channels.channel
    where query_channels.is_hit_at_k and not channels.is_fused

),

found_by as (

    select
        channel_hits.run_id,
        channel_hits.query_id,
        {{ codeintel.ordered_listagg(
            dbt.concat(['channel_hits.channel', "'@'", dbt.cast('channel_hits.first_positive_rank', api.Column.translate_type('string'))]),
            "', '",
            ['channel_hits.first_positive_rank', 'channel_hits.channel']
        ) }} as found_by,
        min(channel_hits.first_positive_rank) as best_channel_rank,
        {{ dbt.bool_or('channel_hits.is_rrf_input') }} as is_found_by_input,
        {{ dbt.bool_or("channel_hits.channel = 'flat'") }} as is_found_by_oracle
    from channel_hits
    group by channel_hits.run_id, channel_hits.query_id

),

best_channel as (

    select
        found_by.run_id,
        found_by.query_id,
        min(channel_hits.channel) as best_channel
    from found_by
    inner join channel_hits
        on found_by.run_id = channel_hits.run_id
        and found_by.query_id = channel_hits.query_id
        and found_by.best_channel_rank = channel_hits.first_positive_rank
    group by found_by.run_id, found_by.query_id

),

failures as (

    select
        query_results.*,
        found_by.found_by,
        found_by.best_channel_rank,
        best_channel.best_channel,
        case
            when query_results.hybrid_first_positive_rank is not null then 'ranked_below_first'
            when coalesce(found_by.is_found_by_input, false) then 'lost_in_fusion'
            when coalesce(found_by.is_found_by_oracle, false) then 'lost_by_ann'
            else 'found_by_no_channel'
        end as failure
    from query_results
    inner join latest_hybrid_run on query_results.run_id = latest_hybrid_run.run_id
    left join found_by
        on query_results.run_id = found_by.run_id
        and query_results.query_id = found_by.query_id
    left join best_channel
        on query_results.run_id = best_channel.run_id
        and query_results.query_id = best_channel.query_id
    where
        query_results.count_positives > 0
        and coalesce(query_results.hybrid_first_positive_rank, 0) <> 1

),

final as (

    select
        failures.run_id,
        failures.started_at,
        cast(row_number() over (
            order by
                failures.hybrid_first_positive_rank desc nulls first,
                failures.best_channel_rank desc nulls first,
                failures.query_id asc
        ) as integer) as worst_rank,
        failures.query_id,
        failures.query_text,
        failures.origin,
        failures.count_positives,
        failures.failure,
        failures.hybrid_first_positive_rank,
        failures.best_channel,
        cast(failures.best_channel_rank as integer) as best_channel_rank,
        {%- for channel in base_channels %}
        failures.{{ channel }}_first_positive_rank,
        {%- endfor %}
        failures.found_by
    from failures

)

select * from final
