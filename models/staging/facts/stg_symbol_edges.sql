with

source as (

    {{ codeintel.optional_source('facts', 'symbol_edges') }}

),

renamed as (

    select
        ---------- ids
        md5(concat_ws('|', src_symbol, dst_symbol, edge)) as edge_id,
        cast(src_symbol as {{ dbt.type_string() }}) as src_symbol,
        cast(dst_symbol as {{ dbt.type_string() }}) as dst_symbol,
        cast(edge as {{ dbt.type_string() }}) as edge_kind,

        ---------- files
        cast(src_uri as {{ dbt.type_string() }}) as src_uri,
        cast(dst_uri as {{ dbt.type_string() }}) as dst_uri,

        ---------- numerics
        cast(weight as double) as weight

    from source

)

select * from renamed
