-- One row per chunks file with the embedder its metadata records (codeintel.embedding.*).
-- source() is referenced for lineage; the metadata is read from the same files.
-- depends_on: {{ source('ingest', 'chunks') }}

with

metadata as (

    {{ codeintel.chunk_file_metadata() }}

),

pivoted as (

    select
        metadata.file_name,
        max(case when metadata.key = 'codeintel.embedding.model' then metadata.value end) as model,
        max(case when metadata.key = 'codeintel.embedding.dim' then metadata.value end) as dim,
        max(case when metadata.key = 'codeintel.embedding.normalized' then metadata.value end) as normalized,
        max(case when metadata.key = 'codeintel.embedding.kind' then metadata.value end) as kind,
        max(case when metadata.key = 'codeintel.embedding.backend' then metadata.value end) as backend,
        max(case when metadata.key = 'codeintel.embedding.precision' then metadata.value end) as precision,
        max(case when metadata.key = 'codeintel.contract' then metadata.value end) as contract
    from metadata
    group by metadata.file_name

),

renamed as (

    select
        ---------- ids
        cast(pivoted.file_name as {{ dbt.type_string() }}) as file_name,

        ---------- embedder (null when the file does not record one)
        cast(pivoted.model as {{ dbt.type_string() }}) as model,
        cast(pivoted.dim as integer) as embedding_dim,
        coalesce(pivoted.normalized = 'true', false) as is_normalized,
        cast(coalesce(pivoted.kind, 'semantic') as {{ dbt.type_string() }}) as kind,
        -- semantic vectors written before backends were recorded came from torch in fp32
        -- (python_ext.contracts.LEGACY_SEMANTIC_BACKEND)
        cast(
            coalesce(
                pivoted.backend, case when coalesce(pivoted.kind, 'semantic') = 'semantic' then 'torch' end
            ) as {{ dbt.type_string() }}
        ) as backend,
        cast(
            coalesce(
                pivoted.precision, case when coalesce(pivoted.kind, 'semantic') = 'semantic' then 'fp32' end
            ) as {{ dbt.type_string() }}
        ) as precision,
        cast(pivoted.contract as {{ dbt.type_string() }}) as contract

    from pivoted

)

select * from renamed
