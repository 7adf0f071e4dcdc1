"""Screenshots of the Chart, Models and Training pages at 1440×900 and 1024×768, and what is above
the fold on each, measured in the page: the chart's toolbar, price pane, volume pane and time axis,
and the Retrain now button.

The home is built fresh from the bundled offline data (no network, no keys): the demo series and
a few trained versions of INFY.NS 5m, the newest active, so opening the chart starts no job.
Needs Debian's `chromium` (apt-get install chromium).

Run: `.venv/bin/python bench/screenshots.py` (PNGs in a temporary folder, printed);
`--out DIR` keeps them there; `--readme` also writes the 1440×900 Chart to docs/images/dashboard.png.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.context import Context
from core.data import supply
from core.db.database import forget_database
from core.settings import load_settings
from core.training.service import train_pair as train
from tests.dashboard.live import CHART, browser, chromium_path, serve, wait_for_chart, wait_ready

REPO = Path(__file__).resolve().parent.parent
README_IMAGE = REPO / "docs" / "images" / "dashboard.png"
PAIR = ("INFY.NS", "5m")
SIZES = ((1440, 900), (1024, 768))
PAGES = {"chart": "", "models": "models", "training": "training"}
ENV = {"QUICK_BOTS": "xgb_agent", "DASHBOARD_SCHEDULER": "false"}
KEY_PARTS = {  # what each other page is opened for, as Playwright locators
    "models": {
        "versions table": "[data-testid='stDataFrame'] >> nth=0",
        "activation history": "h3:has-text('Activation history')",
    },
    "training": {
        "Full training": "button:has-text('Full training')",
        "Jobs": "h3:has-text('Jobs')",
    },
}

# The chart's parts as the component lays them out: its toolbar, then the table of panes whose rows
# are the price pane, the volume pane and the time axis (the last row).
_CHART_PARTS = """box => {
    const rect = e => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; };
    const rows = [...box.querySelectorAll('table tr')].filter(r => r.getBoundingClientRect().height > 0);
    const bar = box.getRootNode().querySelector('.cl-toolbar');
    return {toolbar: bar ? rect(bar) : null, price: rect(rows[0]), volume: rect(rows[1]),
            axis: rect(rows[rows.length - 1])};
}"""


def prepare(home: Path) -> None:
    """Demo data and three xgb_agent versions of the pair (the newest active): fresh models."""
    ctx = Context.create(load_settings(candlelab_home=home), logs=False)
    supply.seed_demo_series(ctx)
    labeling = {"lookback_days": 14, "samples": 60, "labeler": "rules"}
    first = train(ctx, *PAIR, bots=["xgb_agent"], labeling=labeling, activate="always")
    for seed in (1, 2):
        train(ctx, *PAIR, bots=["xgb_agent"], label_set_id=first.label_set_id, activate="always", seed=seed)
    forget_database(ctx.settings.db_url)


def _fits(box: dict[str, float] | None, height: int) -> str:
    if box is None:
        return "absent"
    return "above the fold" if box["bottom"] <= height else f"cut at the fold ({box['bottom']:.0f} px)"


def fold_report(page: Any, name: str, width: int, height: int) -> list[str]:
    """What of the page is on screen without scrolling, as measured boxes."""
    lines = []
    retrain = page.get_by_role("button", name="Retrain now")
    if retrain.count():
        box = retrain.first.bounding_box()
        right = "" if box and box["x"] + box["width"] <= width else " (cut off on the right)"
        bottom = {"bottom": box["y"] + box["height"]} if box else None
        lines.append(f"Retrain now {_fits(bottom, height)}{right}")
    if name == "chart":
        parts = page.locator(CHART).first.evaluate(_CHART_PARTS)
        for part in ("toolbar", "price", "volume", "axis"):
            label = {"price": "price pane", "volume": "volume pane", "axis": "time axis"}.get(part, part)
            lines.append(f"{label} {_fits(parts[part], height)}")
        pane = parts["price"]["bottom"] - parts["price"]["top"]
        lines.append(f"price pane {pane:.0f} px tall")
    for label, locator in KEY_PARTS.get(name, {}).items():
        found = page.locator(locator).first
        box = found.bounding_box() if found.count() else None
        lines.append(f"{label} {_fits({'bottom': box['y'] + box['height']} if box else None, height)}")
    return lines


def shoot(chrome: Any, url: str, out: Path) -> dict[str, list[str]]:
    report = {}
    for width, height in SIZES:
        for name, path in PAGES.items():
            page = chrome.new_page(viewport={"width": width, "height": height})
            page.goto(f"{url}/{path}?symbol={PAIR[0]}&tf={PAIR[1]}")
            wait_ready(page)
            if name == "chart":
                wait_for_chart(page)
            else:
                page.locator("[data-testid^='glide-cell-']").first.wait_for(state="attached")
            page.wait_for_timeout(700)  # grids and the chart settle their layout after the first paint
            file = out / f"{name}_{width}x{height}.png"
            page.screenshot(path=str(file))
            report[file.name] = fold_report(page, name, width, height)
            page.close()
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the PNGs (default: a new temporary one)")
    parser.add_argument("--readme", action="store_true", help=f"also write {README_IMAGE.relative_to(REPO)}")
    args = parser.parse_args()
    executable = chromium_path()
    if executable is None:
        print("Chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="candlelab-shots-"))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        prepare(home)
        with serve(home, ENV) as url, browser(executable) as chrome:
            report = shoot(chrome, url, out)
        forget_database(load_settings(candlelab_home=home).db_url)
    for file, lines in report.items():
        print(f"{out / file}: " + "; ".join(lines))
    if args.readme:
        shutil.copy(out / "chart_1440x900.png", README_IMAGE)
        print(f"wrote {README_IMAGE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
