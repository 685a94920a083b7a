{%- set tolerance = codeintel.checked_var('eval_regression_tolerance', 'float', min_value=0) -%}

with

metrics as (

    select * from {{ ref('v_eval_metrics_by_run') }}

),

with_previous as (

    select
        metrics.*,
        lag(metrics.run_id) over by_channel as previous_run_id,
        lag(metrics.started_at) over by_channel as previous_started_at,
        lag(metrics.recall_at_k) over by_channel as previous_recall_at_k,
        lag(metrics.mrr_at_k) over by_channel as previous_mrr_at_k,
        lag(metrics.ndcg_at_k) over by_channel as previous_ndcg_at_k
    from metrics
    -- only runs over the same query set are comparable (legacy runs without a fingerprint
    -- pair among themselves)
    window by_channel as (
        partition by metrics.channel, metrics.k, metrics.queries_fingerprint
        order by metrics.started_at, metrics.run_id
    )

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
        ) as is_regression
    from with_previous

)

select * from final
