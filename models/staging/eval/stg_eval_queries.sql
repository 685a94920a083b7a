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
        cast(len(coalesce(positives, [])) as integer) as count_positives,

        ---------- stripped protocol: the positives grouped per target function
        case
            when json_valid(meta)
                then cast(json_extract(meta, '$.positive_groups') as bigint[][])
        end as positive_groups

    from source

)

select * from renamed
