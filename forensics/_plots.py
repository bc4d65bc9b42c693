"""Charts in one place: a matplotlib figure that touches no global state, written as PNG atomically.

What it does: :func:`figure` makes a ``matplotlib.figure.Figure`` directly (no ``pyplot``, no switch of
the global backend, so a user's notebook or GUI is left as it was) after checking that the ``plot``
extra is installed; :func:`save_png` renders it and writes the file atomically.

What it leaves out: what is drawn (each result draws its own chart).
"""

from __future__ import annotations

import io
import os


def figure(*, figsize: tuple[float, float], dpi: int = 120, purpose: str = "charts"):
    """A new figure (needs the ``plot`` extra; the message says how to install it)."""
    from forensics.errors import require

    require("matplotlib", extra="plot", purpose=purpose)
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=dpi)


def save_png(fig, path: str | os.PathLike, **options) -> None:
    """Render ``fig`` as PNG into ``path`` (atomically: readers see the old file or the whole new one)."""
    from forensics._results import atomic_write_bytes

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", **options)
    atomic_write_bytes(path, buffer.getvalue())
