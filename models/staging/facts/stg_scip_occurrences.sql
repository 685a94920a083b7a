with

source as (

    {{ codeintel.optional_source('facts', 'scip_occurrences') }}

),

renamed as (

    select
        ---------- ids
        md5(concat_ws('|', symbol, uri, role_bits, start_line, start_char, end_line, end_char))
            as occurrence_id,
        cast(symbol as {{ dbt.type_string() }}) as symbol,
        cast(uri as {{ dbt.type_string() }}) as uri,

        ---------- role
        cast(role as {{ dbt.type_string() }}) as role,
        cast(role_bits as integer) as role_bits,
        (cast(role_bits as integer) & 1) = 1 as is_definition,

        ---------- positions (lines 1-based inclusive; chars 0-based, end exclusive)
        cast(start_line as integer) as start_line,
        cast(start_char as integer) as start_char,
        cast(end_line as integer) as end_line,
        cast(end_char as integer) as end_char

    from source

)

select * from renamed
