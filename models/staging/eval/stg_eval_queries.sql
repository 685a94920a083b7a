with

source as (

    {{ codeintel.optional_source('eval', 'queries') }}

),

renamed as (

    select
        ---------- ids
        cast(query_id as varchar) as query_id,

        ---------- text
        cast(text as varchar) as query_text,
        cast(origin as varchar) as origin,
        cast(meta as varchar) as meta,

        ---------- judgements
        cast(coalesce(positives, []) as bigint[]) as positive_chunk_ids,
        cast(len(coalesce(positives, [])) as integer) as count_positives

    from source

)

select * from renamed
