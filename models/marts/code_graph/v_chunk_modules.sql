with

chunks as (

    select * from {{ ref('stg_chunks') }}

),

uri_modules as (

    select * from {{ ref('int_uri_modules') }}

),

modules as (

    select * from {{ ref('stg_modules') }}

),

joined as (

    select
        chunks.chunk_id,
        chunks.uri,
        uri_modules.module_id,
        modules.uri_prefix,
        modules.language as module_language,
        coalesce(uri_modules.count_longest_matches, 0) as count_longest_matches
    from chunks
    left join uri_modules on chunks.uri = uri_modules.uri
    left join modules on uri_modules.module_id = modules.module_id

)

select * from joined
