with

source as (

    {{ codeintel.optional_source('facts', 'symbol_edges') }}

),

with_resolution as (

    -- the resolution column is optional (files written before it existed lack it)
    select
        source.src_symbol,
        source.dst_symbol,
        source.edge,
        source.weight,
        source.src_uri,
        source.dst_uri,
        {{ codeintel.optional_column('facts', 'symbol_edges', 'resolution', 'varchar') }} as resolution
    from source

),

renamed as (

    select
        ---------- ids
        md5(concat_ws('|', src_symbol, dst_symbol, edge, coalesce(resolution, ''))) as edge_id,
        cast(src_symbol as {{ dbt.type_string() }}) as src_symbol,
        cast(dst_symbol as {{ dbt.type_string() }}) as dst_symbol,
        cast(edge as {{ dbt.type_string() }}) as edge_kind,
        resolution,

        ---------- files
        cast(src_uri as {{ dbt.type_string() }}) as src_uri,
        cast(dst_uri as {{ dbt.type_string() }}) as dst_uri,

        ---------- numerics
        cast(weight as double) as weight

    from with_resolution

)

select * from renamed
