with

source as (

    {{ codeintel.optional_source('facts', 'ast_nodes') }}

),

renamed as (

    select
        ---------- ids
        cast(node_id as bigint) as node_id,
        cast(parent_id as bigint) as parent_id,
        cast(uri as {{ dbt.type_string() }}) as uri,

        ---------- node
        cast(kind as {{ dbt.type_string() }}) as kind,
        cast(depth as integer) as depth,
        cast(name as {{ dbt.type_string() }}) as name,
        cast(symbol as {{ dbt.type_string() }}) as symbol,
        symbol is not null and depth > 0 as is_declaration,
        cast(text_hash as {{ dbt.type_string() }}) as text_hash,

        ---------- positions (lines 1-based inclusive; bytes 0-based, end exclusive)
        cast(start_byte as bigint) as start_byte,
        cast(end_byte as bigint) as end_byte,
        cast(start_line as integer) as start_line,
        cast(end_line as integer) as end_line

    from source

)

select * from renamed
