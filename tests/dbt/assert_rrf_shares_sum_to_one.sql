-- Per run and query, the input channels' shares of the fused RRF score sum to 1 and their
-- contributions sum to the fused total. Returns the offending (run_id, query_id).
select
    run_id,
    query_id,
    sum(share_of_fused_score) as sum_shares,
    sum(rrf_contribution) as sum_contributions,
    max(fused_score_total) as fused_score_total
from {{ ref('v_rrf_contrib_by_channel') }}
group by run_id, query_id
having max(fused_score_total) > 0
    and (
        abs(sum(share_of_fused_score) - 1.0) > 1e-9
        or abs(sum(rrf_contribution) - max(fused_score_total)) > 1e-12
    )
