"""Draw chart specs as vector PDF with vl-convert (Vega and its fonts bundled, no browser).

Charts are drawn in this process, one after another: vl-convert serialises conversions inside a
process, and worker processes would have to re-import the caller's main module (multiprocessing's
spawn), which a library must not impose on its users' scripts.
"""

from __future__ import annotations

from collections.abc import Callable

import vl_convert as vlc


def draw(vega_lite: str) -> bytes:
    """One chart (Vega-Lite JSON text) as a one-page vector PDF."""
    try:
        out: bytes = vlc.vegalite_to_pdf(vega_lite)
    except ValueError as exc:  # a spec Vega cannot draw is a bug in this package
        raise RuntimeError(f"a chart cannot be drawn: {str(exc).splitlines()[0]}") from exc
    return out


def draw_all(specs: dict[str, str], on_done: Callable[[], None]) -> dict[str, bytes]:
    """key → PDF for every spec; `on_done` is called once per chart drawn."""
    out = {}
    for key, spec in specs.items():
        out[key] = draw(spec)
        on_done()
    return out
