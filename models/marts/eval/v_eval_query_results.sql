{%- set channels = codeintel.eval_channels() -%}

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

channels as (

    select * from {{ ref('channels') }}

),

run_order as (

    select
        runs.run_id,
        runs.started_at,
        cast(dense_rank() over (order by runs.started_at, runs.run_id) as integer) as run_sequence
    from runs

),

pivoted as (

    select
        query_channels.run_id,
        query_channels.query_id,
        max(query_channels.k) as k,
        {%- for channel in channels %}
        max(case when query_channels.channel = '{{ channel }}' then query_channels.first_positive_rank end)
            as {{ channel }}_first_positive_rank,
        {%- set hit = "case when query_channels.channel = '" ~ channel
            ~ "' then query_channels.is_hit_at_k end" %}
        {{ dbt.bool_or(hit) }} as {{ channel }}_hit_at_k,
        {%- endfor %}
        count(
            case when query_channels.is_hit_at_k and query_channels.channel <> 'hybrid' then 1 end
        ) as count_channels_hit
    from query_channels
    group by query_channels.run_id, query_channels.query_id

),

input_hits as (

    -- the channels hybrid fuses (seeds/channels.csv is_rrf_input) that ranked a positive
    select
        query_channels.run_id,
        query_channels.query_id,
        query_channels.channel,
        query_channels.first_positive_rank
    from query_channels
    inner join channels on query_channels.channel = channels.channel
    where channels.is_rrf_input and query_channels.is_hit_at_k

),

best_input as (

    select
        input_hits.run_id,
        input_hits.query_id,
        min(input_hits.first_positive_rank) as best_input_rank
    from input_hits
    group by input_hits.run_id, input_hits.query_id

),

winners as (

    select
        best_input.run_id,
        best_input.query_id,
        best_input.best_input_rank,
        count(*) as count_winners,
        min(input_hits.channel) as first_winner
    from best_input
    inner join input_hits
        on best_input.run_id = input_hits.run_id
        and best_input.query_id = input_hits.query_id
        and best_input.best_input_rank = input_hits.first_positive_rank
    group by best_input.run_id, best_input.query_id, best_input.best_input_rank

),

final as (

    select
        pivoted.run_id,
        pivoted.query_id,
        run_order.started_at,
        run_order.run_sequence,
        cast(pivoted.k as integer) as k,
        queries.query_text,
        queries.origin,
        queries.positive_chunk_ids,
        cast(coalesce(queries.count_positives, 0) as integer) as count_positives,
        {%- for channel in channels %}
        cast(pivoted.{{ channel }}_first_positive_rank as integer) as {{ channel }}_first_positive_rank,
        pivoted.{{ channel }}_hit_at_k,
        {%- endfor %}
        cast(pivoted.count_channels_hit as integer) as count_channels_hit,
        cast(winners.best_input_rank as integer) as best_input_rank,
        case
            when winners.count_winners = 1 then winners.first_winner
            when winners.count_winners > 1 then 'tie'
            else 'none'
        end as winning_channel
    from pivoted
    inner join run_order on pivoted.run_id = run_order.run_id
    left join queries on pivoted.query_id = queries.query_id
    left join winners
        on pivoted.run_id = winners.run_id
        and pivoted.query_id = winners.query_id

)

select * from final
