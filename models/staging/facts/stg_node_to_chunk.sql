with

source as (

    {{ codeintel.optional_source('facts', 'node_to_chunk') }}

),

renamed as (

    select
        ---------- ids
        cast(node_id as bigint) as node_id,
        cast(chunk_id as bigint) as chunk_id,
        cast(uri as {{ dbt.type_string() }}) as uri,

        ---------- overlap
        cast(overlap_bytes as bigint) as overlap_bytes,
        cast(node_in_chunk as boolean) as is_node_in_chunk,
        cast(chunk_in_node as boolean) as is_chunk_in_node

    from source

)

select * from renamed
