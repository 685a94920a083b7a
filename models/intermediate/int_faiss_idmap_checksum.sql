-- One row: the checksum faiss_idmap_mat is keyed on: the published id map file's sha256 and a
-- fingerprint of the chunk keys it is joined to (so re-chunked files also trigger a rebuild).

with

idmap_file as (

    select idmap_sha256 from {{ ref('stg_faiss_idmap_file') }}

),

chunk_keys as (

    select
        count(*) as count_chunks,
        bit_xor(
            {{ codeintel.hash64(['chunk_id', 'uri', 'start_line', 'end_line', 'language', 'content_hash']) }}
        ) as keys_hash
    from {{ ref('stg_chunks') }}

),

final as (

    select
        coalesce((select max(idmap_file.idmap_sha256) from idmap_file), 'no-idmap')
        || ':' || cast(chunk_keys.count_chunks as {{ dbt.type_string() }})
        || ':' || cast(coalesce(chunk_keys.keys_hash, 0) as {{ dbt.type_string() }}) as source_checksum
    from chunk_keys

)

select * from final
