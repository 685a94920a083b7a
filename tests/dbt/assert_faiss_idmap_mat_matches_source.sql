-- faiss_idmap_mat is a cached copy: it must hold exactly the rows of the published id map
-- (same faiss_row → faiss_id → chunk_id). A stale table (checksum logic wrong) shows here.
-- Returns each differing row with the side it is missing from.
with

mat as (

    select faiss_row, faiss_id, chunk_id from {{ ref('faiss_idmap_mat') }}

),

source_map as (

    select faiss_row, faiss_id, chunk_id from {{ ref('stg_faiss_idmap') }}

)

(select *, 'only in faiss_idmap_mat' as problem from mat except select *, 'only in faiss_idmap_mat' from source_map)
union all
(select *, 'missing from faiss_idmap_mat' as problem from source_map except select *, 'missing from faiss_idmap_mat' from mat)
