"""Figure type prints at its nominal size whatever the number of panels."""

from __future__ import annotations

import pytest

from companion.plots import style


@pytest.mark.parametrize("ncols", [1, 2, 3])
def test_type_prints_at_nominal_size(ncols: int) -> None:
    import matplotlib.pyplot as plt

    fig, _ = style.new_figure(ncols=ncols)
    width = fig.get_size_inches()[0]
    printed = min(1.0, style.PRINT_WIDTH_IN / width)  # the report scales it to the text width
    assert plt.rcParams["font.size"] * printed == pytest.approx(9.0)
    assert plt.rcParams["legend.fontsize"] * printed == pytest.approx(8.0)
    plt.close(fig)
