{#- Why: the per-query marts have one column pair per channel (rank of the first positive,
    hit@k), so their contracts need the channel list at compile time. It is the pool
    contract's channel list (python_ext.contracts.EVAL_CHANNELS, seeds/channels.csv); a Python
    test keeps the three in step. -#}
{% macro eval_channels() %}
    {{ return(['faiss', 'flat', 'bm25', 'splade', 'hybrid']) }}
{% endmacro %}
