{%- set tolerance = codeintel.checked_var('eval_regression_tolerance', 'float', min_value=0) -%}

with

metrics as (

    select * from {{ ref('v_eval_metrics_by_run') }}

),

run_queries as (

    select * from {{ ref('int_eval_run_queries') }}

),

query_sets as (

    select
        run_queries.run_id,
        count(*) as count_queries_in_set,
        {{ dbt.hash(codeintel.ordered_listagg('run_queries.query_id', "'\\n'", ['run_queries.query_id'])) }}
            as query_set_fingerprint
    from run_queries
    group by run_queries.run_id

),

with_sets as (

    select
        metrics.*,
        query_sets.query_set_fingerprint
    from metrics
    left join query_sets on metrics.run_id = query_sets.run_id

),

with_previous as (

    -- previous: the latest earlier run of the same channel and k over the same query set: the
    -- same query ids and the same queries_fingerprint (ids, texts and positives; null for runs
    -- recorded before it, which pair only among themselves); a run whose query ids are unknown
    -- is never paired. preceding: the latest earlier run of the channel and k whatever its
    -- query set, to name what changed
    select
        with_sets.*,
        {%- for column in ['run_id', 'started_at', 'recall_at_k', 'mrr_at_k', 'ndcg_at_k'] %}
        case
            when with_sets.query_set_fingerprint is not null
                then lag(with_sets.{{ column }}) over by_query_set
        end as previous_{{ column }},
        {%- endfor %}
        lag(with_sets.run_id) over by_channel as preceding_run_id,
        lag(with_sets.query_set_fingerprint) over by_channel as preceding_query_set_fingerprint,
        lag(with_sets.queries_fingerprint) over by_channel as preceding_queries_fingerprint
    from with_sets
    window
        by_query_set as (
            partition by
                with_sets.channel,
                with_sets.k,
                with_sets.query_set_fingerprint,
                with_sets.queries_fingerprint
            order by with_sets.started_at, with_sets.run_id
        ),
        by_channel as (
            partition by with_sets.channel, with_sets.k
            order by with_sets.started_at, with_sets.run_id
        )

),

changed_pairs as (

    select distinct
        with_previous.run_id,
        with_previous.preceding_run_id
    from with_previous
    where
        with_previous.query_set_fingerprint <> with_previous.preceding_query_set_fingerprint
        or with_previous.queries_fingerprint <> with_previous.preceding_queries_fingerprint

),

current_queries as (

    select
        changed_pairs.run_id,
        changed_pairs.preceding_run_id,
        run_queries.query_id
    from changed_pairs
    inner join run_queries on changed_pairs.run_id = run_queries.run_id

),

preceding_queries as (

    select
        changed_pairs.run_id,
        changed_pairs.preceding_run_id,
        run_queries.query_id
    from changed_pairs
    inner join run_queries on changed_pairs.preceding_run_id = run_queries.run_id

),

pair_differences as (

    select
        coalesce(current_queries.run_id, preceding_queries.run_id) as run_id,
        coalesce(current_queries.preceding_run_id, preceding_queries.preceding_run_id) as preceding_run_id,
        count(case when preceding_queries.query_id is null then 1 end) as count_queries_added,
        count(case when current_queries.query_id is null then 1 end) as count_queries_removed
    from current_queries
    full outer join preceding_queries
        on current_queries.run_id = preceding_queries.run_id
        and current_queries.preceding_run_id = preceding_queries.preceding_run_id
        and current_queries.query_id = preceding_queries.query_id
    group by
        coalesce(current_queries.run_id, preceding_queries.run_id),
        coalesce(current_queries.preceding_run_id, preceding_queries.preceding_run_id)

),

final as (

    select
        with_previous.run_id,
        with_previous.channel,
        with_previous.k,
        with_previous.started_at,
        with_previous.index_version,
        with_previous.operating_point,
        with_previous.previous_run_id,
        with_previous.previous_started_at,
        with_previous.recall_at_k,
        with_previous.mrr_at_k,
        with_previous.ndcg_at_k,
        with_previous.recall_at_k - with_previous.previous_recall_at_k as delta_recall_at_k,
        with_previous.mrr_at_k - with_previous.previous_mrr_at_k as delta_mrr_at_k,
        with_previous.ndcg_at_k - with_previous.previous_ndcg_at_k as delta_ndcg_at_k,
        coalesce(
            with_previous.recall_at_k - with_previous.previous_recall_at_k < -{{ tolerance }}
            or with_previous.mrr_at_k - with_previous.previous_mrr_at_k < -{{ tolerance }}
            or with_previous.ndcg_at_k - with_previous.previous_ndcg_at_k < -{{ tolerance }},
            false
        ) as is_regression,
        with_previous.count_queries,
        with_previous.query_set_fingerprint,
        with_previous.queries_fingerprint,
        with_previous.preceding_run_id,
        case
            when with_previous.preceding_run_id is null then 'first'
            when
                with_previous.query_set_fingerprint is null
                or with_previous.preceding_query_set_fingerprint is null
                then 'unknown'
            when with_previous.query_set_fingerprint <> with_previous.preceding_query_set_fingerprint
                then 'changed'
            -- same ids: a run with a content fingerprint against one recorded before it existed
            when
                (with_previous.queries_fingerprint is null)
                <> (with_previous.preceding_queries_fingerprint is null)
                then 'unknown'
            when with_previous.queries_fingerprint <> with_previous.preceding_queries_fingerprint
                then 'changed'
            else 'same'
        end as query_set_change,
        cast(pair_differences.count_queries_added as integer) as count_queries_added,
        cast(pair_differences.count_queries_removed as integer) as count_queries_removed
    from with_previous
    left join pair_differences
        on with_previous.run_id = pair_differences.run_id
        and with_previous.preceding_run_id = pair_differences.preceding_run_id

)

select * from final
