{#- Why: faiss/CURRENT is the single source of truth of the published index version. The index
    sources read faiss/versions/<that version>/, never the faiss/current symlink: a kill between
    the two flips of a publish, or a removed link, would otherwise build a catalog of another
    version (or of none) whose tests all pass. `indexctl catalog refresh` pins the version it read
    (var published_version), so every model of one build reads the same one. Returns none when
    nothing is published (no CURRENT file); fails the build when CURRENT (or the var) is empty,
    is not a version name, or names a version folder that is missing or incomplete. -#}
{% macro published_version() %}
    {{ return(adapter.dispatch('published_version', 'codeintel')()) }}
{% endmacro %}

{% macro default__published_version() %}
    {%- set root = var('data_root', env_var('CODEINTEL_DATA_ROOT', 'data')) -%}
    {%- set pinned = var('published_version', none) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if pinned is not none -%}
        {%- set name = pinned | string | trim -%}
        {%- set origin = "var published_version" -%}
    {%- else -%}
        {%- set current = root ~ '/faiss/CURRENT' -%}
        {%- if not codeintel.files_exist(current) -%}
            {{ return(none) }}
        {%- endif -%}
        {%- set content = codeintel.file_text(current) -%}
        {%- set name = (content or '') | trim -%}
        {%- set origin = current -%}
    {%- endif -%}
    {%- set hint = "publish a complete version with `indexctl index publish VERSION` (see `indexctl index versions`)" -%}
    {%- if not modules.re.fullmatch('[A-Za-z0-9][A-Za-z0-9._-]{0,199}', name) -%}
        {{ exceptions.raise_compiler_error(origin ~ " holds " ~ (name | tojson) ~ ", which is not an index version name: " ~ hint) }}
    {%- endif -%}
    {%- set folder = root ~ '/faiss/versions/' ~ name -%}
    {%- for file in ['version.json', 'index.faiss', 'faiss_idmap.parquet'] -%}
        {%- if not codeintel.files_exist(folder ~ '/' ~ file) -%}
            {{ exceptions.raise_compiler_error(origin ~ " names version " ~ name ~ " but " ~ folder ~ "/" ~ file ~ " does not exist: " ~ hint) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(name) }}
{% endmacro %}


{#- Why: a source's files are named by its meta.path; the index sources' paths hold the
    placeholder {published_version}, resolved here from faiss/CURRENT (none: nothing published,
    so there is no such file). -#}
{% macro source_path(source_name, table_name) %}
    {%- set path = codeintel.source_meta(source_name, table_name).meta.path -%}
    {%- if '{published_version}' in path -%}
        {%- set version = codeintel.published_version() -%}
        {%- if version is none -%}
            {{ return(none) }}
        {%- endif -%}
        {%- set path = path | replace('{published_version}', version) -%}
    {%- endif -%}
    {{ return(path) }}
{% endmacro %}
