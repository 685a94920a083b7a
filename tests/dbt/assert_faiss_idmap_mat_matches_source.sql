-- faiss_idmap_mat is a cached copy: it must hold exactly the rows of the published id map
-- (same faiss_row → faiss_id → chunk_id). A stale table (checksum logic wrong) shows here.
-- Returns each differing row with the side it is missing from.
with

mat as (

    select faiss_row, faiss_id, chunk_id from {{ ref('faiss_idmap_mat') }}

),

source_map as (

    select faiss_row, faiss_id, chunk_id from {{ ref('stg_faiss_idmap') }}

),

only_in_mat as (

    select * from mat
    except
    select * from source_map

),

missing_from_mat as (

    select * from source_map
    except
    select * from mat

)

select
    only_in_mat.*,
    'only in faiss_idmap_mat' as problem
from only_in_mat
union all
select
    missing_from_mat.*,
    'missing from faiss_idmap_mat' as problem
from missing_from_mat
