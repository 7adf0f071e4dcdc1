"""How the dashboard's tables fit the page in a real browser: for every data grid, each column's
natural width (its widest header or cell text in the grid's font, plus padding) beside the width
the grid gives its columns. A grid narrower than its columns' natural widths clips a text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PADDING = 16  # the grid's horizontal cell padding, both sides (glide's `cellHorizontalPadding`: 8)
MAX_AUTO = 500  # Streamlit caps a column's automatic width at 31.25rem: wider texts are clipped
MARKER = 36  # the selection checkboxes' column of a selectable table, at most

# Measures each column's texts in the grid's own font, from its accessibility table (which holds
# the rows and columns in view: a grid scrolled sideways is measured for the columns on screen).
_MEASURE = """() => {
  const ctx = document.createElement('canvas').getContext('2d');
  const family = getComputedStyle(document.body).fontFamily;
  const out = [];
  for (const df of document.querySelectorAll("[data-testid='stDataFrame']")) {
    const scroller = df.querySelector('.dvn-scroller');
    if (!scroller) continue;
    const heads = {}, cells = {}, names = {};
    for (const h of df.querySelectorAll('[role=columnheader]')) {
      const col = Number(h.getAttribute('aria-colindex')) - 1;
      ctx.font = `600 14px ${family}`;
      names[col] = h.innerText;
      heads[col] = ctx.measureText(h.innerText).width;
    }
    for (const c of df.querySelectorAll("[data-testid^='glide-cell-']")) {
      const col = Number(c.getAttribute('data-testid').split('-')[2]);
      ctx.font = `14px ${family}`;
      cells[col] = Math.max(cells[col] || 0, ctx.measureText(c.innerText).width);
    }
    // A selectable table's cells count its checkbox column first; its headers do not.
    const shift = Object.keys(cells).length && !(0 in cells) ? 1 : 0;
    const natural = {};
    for (const [col, w] of Object.entries(heads)) natural[col] = Math.max(w, cells[Number(col) + shift] || 0);
    out.push({natural, names, selectable: shift === 1,
              scroll: scroller.scrollWidth, client: scroller.clientWidth});
  }
  return out;
}"""


@dataclass
class GridFit:
    columns: dict[str, float]  # header -> natural width in px (text plus padding)
    scroll_width: float  # the columns' total width as drawn
    client_width: float  # the grid's visible width

    @property
    def scrolls(self) -> bool:
        return self.scroll_width > self.client_width + 1

    @property
    def clipped(self) -> list[str]:
        """Columns whose text cannot show whole: wider than Streamlit's cap, or squeezed."""
        capped = [name for name, width in self.columns.items() if width > MAX_AUTO]
        squeezed = sum(min(w, MAX_AUTO) for w in self.columns.values()) > self.scroll_width + 2
        return capped or (list(self.columns) if squeezed else [])


def grid_fits(page: Any) -> list[GridFit]:
    fits = []
    for grid in page.evaluate(_MEASURE):
        names = {int(k): v for k, v in grid["names"].items()}
        columns = {
            names.get(int(col), f"column {col}"): width + PADDING for col, width in grid["natural"].items()
        }
        marker = MARKER if grid["selectable"] else 0
        fits.append(GridFit(columns, grid["scroll"] - marker, grid["client"] - marker))
    return fits


# Select boxes whose shown value is cut short: the box's input holds more text than it shows.
_CLIPPED_CONTROLS = """() => [
    ...document.querySelectorAll("[data-testid='stMain'] [data-testid='stSelectbox'] input")]
    .filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => e.value)"""


def clipped_controls(page: Any) -> list[str]:
    """The texts of select boxes on the page that show only part of their value."""
    return list(page.evaluate(_CLIPPED_CONTROLS))
