{#- Why: `indexctl catalog status` tells whether the catalog still matches its data root. This
    lists, for every source of the project, the files the build read (relative to the data
    root, with size and modification time; read_blob without its content column reads no
    bytes), or one row without a file when the source had none. Paths and patterns are
    relative to the data root, so a status check can redo the listing from any directory. -#}
{% macro catalog_input_rows() %}
    {{ return(adapter.dispatch('catalog_input_rows', 'codeintel')()) }}
{% endmacro %}

{% macro default__catalog_input_rows() %}
    {%- set root = var('data_root', env_var('CODEINTEL_DATA_ROOT', 'data')) | string -%}
    {%- set empty -%}
        select
            cast(null as varchar) as source_name,
            cast(null as varchar) as path_pattern,
            cast(null as varchar) as relative_path,
            cast(null as bigint) as size_bytes,
            cast(null as timestamp with time zone) as modified_at
        where false
    {%- endset -%}
    {%- if not execute -%}
        {{ return(empty) }}
    {%- endif -%}
    {%- set prefix = (root ~ '/') | replace("'", "''") -%}
    {%- set relative -%}
        case when starts_with(filename, '{{ prefix }}') then substr(filename, {{ (root | length) + 2 }}) else filename end
    {%- endset -%}
    {%- set selects = [empty] -%}
    {%- for node in graph.sources.values() | sort(attribute='unique_id') if node.package_name == project_name -%}
        {%- set name = node.source_name ~ '.' ~ node.name -%}
        {%- set template = node.meta.path | string -%}
        {%- set pattern = template[root | length + 1:] if template.startswith(root ~ '/') else template -%}
        {%- set path = codeintel.source_path(node.source_name, node.name) -%}
        {%- if path is not none and codeintel.files_exist(path) -%}
            {%- do selects.append(
                "select '" ~ name ~ "', '" ~ (pattern | replace("'", "''")) ~ "', "
                ~ "cast(" ~ relative ~ " as varchar), cast(size as bigint), cast(last_modified as timestamp with time zone) "
                ~ "from read_blob('" ~ (path | replace("'", "''")) ~ "')"
            ) -%}
        {%- else -%}
            {%- do selects.append(
                "select '" ~ name ~ "', '" ~ (pattern | replace("'", "''")) ~ "', null, null, null"
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(selects | join('\nunion all\n')) }}
{% endmacro %}

{#- Spark: the files are listed with the binaryFile data source (its content column is never
    selected, so no bytes are read); paths lose binaryFile's file: prefix. -#}
{% macro spark__catalog_input_rows() %}
    {%- set root = var('data_root', env_var('CODEINTEL_DATA_ROOT', 'data')) | string -%}
    {%- set empty -%}
        select
            cast(null as string) as source_name,
            cast(null as string) as path_pattern,
            cast(null as string) as relative_path,
            cast(null as bigint) as size_bytes,
            cast(null as timestamp) as modified_at
        where false
    {%- endset -%}
    {%- if not execute -%}
        {{ return(empty) }}
    {%- endif -%}
    {%- set filename = "regexp_replace(path, '^file:', '')" -%}
    {%- set relative -%}
        case when startswith({{ filename }}, {{ codeintel.sql_string(root ~ '/') }}) then substr({{ filename }}, {{ (root | length) + 2 }}) else {{ filename }} end
    {%- endset -%}
    {%- set selects = [empty] -%}
    {%- for node in graph.sources.values() | sort(attribute='unique_id') if node.package_name == project_name -%}
        {%- set name = node.source_name ~ '.' ~ node.name -%}
        {%- set template = node.meta.path | string -%}
        {%- set pattern = template[root | length + 1:] if template.startswith(root ~ '/') else template -%}
        {%- set path = codeintel.source_path(node.source_name, node.name) -%}
        {%- if path is not none and codeintel.files_exist(path) -%}
            {%- do selects.append(
                "select " ~ codeintel.sql_string(name) ~ ", " ~ codeintel.sql_string(pattern) ~ ", "
                ~ "cast(" ~ relative ~ " as string), cast(length as bigint), cast(modificationTime as timestamp) "
                ~ "from binaryFile.`" ~ path ~ "`"
            ) -%}
        {%- else -%}
            {%- do selects.append(
                "select " ~ codeintel.sql_string(name) ~ ", " ~ codeintel.sql_string(pattern) ~ ", null, null, null"
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(selects | join('\nunion all\n')) }}
{% endmacro %}
