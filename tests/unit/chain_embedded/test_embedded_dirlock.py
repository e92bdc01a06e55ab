"""Two openers of one chain directory would corrupt it: the second is refused, clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridshare.chain.embedded import ChainInUse, open_embedded_chain


def test_a_second_opener_of_the_same_directory_is_refused_until_the_first_closes(
    tmp_path: Path,
) -> None:
    first = open_embedded_chain(tmp_path)
    with pytest.raises(ChainInUse, match="in use by another gridshare process"):
        open_embedded_chain(tmp_path)
    first.close()
    second = open_embedded_chain(tmp_path)  # released on close
    assert second.block_number == first.block_number
    second.close()
