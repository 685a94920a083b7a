with

modules as (

    select * from {{ ref('stg_modules') }}

),

chunk_modules as (

    select * from {{ ref('v_chunk_modules') }}

),

idmap as (

    select * from {{ ref('stg_faiss_idmap') }}

),

runs as (

    select * from {{ ref('stg_eval_runs') }}

),

pools as (

    select * from {{ ref('stg_eval_pools') }}

),

queries as (

    select * from {{ ref('stg_eval_queries') }}

),

latest_run as (

    select run_id, k from runs order by started_at desc, run_id desc limit 1

),

chunk_counts as (

    select
        chunk_modules.module_id,
        count(*) as count_chunks,
        count(indexed.chunk_id) as count_chunks_indexed
    from chunk_modules
    left join (select distinct chunk_id from idmap) as indexed
        on chunk_modules.chunk_id = indexed.chunk_id
    where chunk_modules.module_id is not null
    group by chunk_modules.module_id

),

positives as (

    select queries.query_id, {{ codeintel.unnest('queries.positive_chunk_ids') }} as chunk_id
    from queries

),

latest_hits as (

    select distinct pools.query_id, pools.chunk_id
    from pools
    -- the run's top k (the fused channels' pools go deeper, to the RRF rank cut-off)
    inner join latest_run on pools.run_id = latest_run.run_id and pools.rank <= latest_run.k

),

hit_counts as (

    select
        chunk_modules.module_id,
        count(*) as count_eval_hits,
        count(positives.chunk_id) as count_eval_relevant_hits
    from latest_hits
    inner join chunk_modules on latest_hits.chunk_id = chunk_modules.chunk_id
    left join positives
        on latest_hits.query_id = positives.query_id
        and latest_hits.chunk_id = positives.chunk_id
    group by chunk_modules.module_id

),

positive_counts as (

    select chunk_modules.module_id, count(*) as count_eval_positives
    from positives
    inner join chunk_modules on positives.chunk_id = chunk_modules.chunk_id
    group by chunk_modules.module_id

),

final as (

    select
        modules.module_id,
        modules.uri_prefix,
        modules.language,
        modules.size_loc,
        modules.centrality,
        coalesce(chunk_counts.count_chunks, 0) as count_chunks,
        coalesce(chunk_counts.count_chunks_indexed, 0) as count_chunks_indexed,
        cast(chunk_counts.count_chunks_indexed as double)
        / nullif(chunk_counts.count_chunks, 0) as share_indexed,
        (select latest_run.run_id from latest_run) as latest_eval_run_id,
        coalesce(hit_counts.count_eval_hits, 0) as count_eval_hits,
        coalesce(hit_counts.count_eval_relevant_hits, 0) as count_eval_relevant_hits,
        coalesce(positive_counts.count_eval_positives, 0) as count_eval_positives
    from modules
    left join chunk_counts on modules.module_id = chunk_counts.module_id
    left join hit_counts on modules.module_id = hit_counts.module_id
    left join positive_counts on modules.module_id = positive_counts.module_id

)

select * from final
