// The candle chart: TradingView Lightweight Charts mounted as a Streamlit v2 component.
//
// The library (window.LightweightCharts) is prepended to this module from the installed package
// at runtime (dashboard/lwchart.py), with the indicators (lwchart_indicators.js). Candles arrive
// once as Arrow columns; ranges, zoom, panes, indicators (computed here from the closes) and
// overlays change here without a server round-trip, and the view (range, indicators, overlays,
// scale) is reported back so the page keeps it in the URL and the session.
//
// A long series opens with its newest candles only (`meta.total` says how many exist): scrolling
// back near the oldest one held, or a range reaching further, asks the page for earlier history
// (the "history" trigger); the longer window arrives as one message and is prepended in place,
// the candles in view staying where they were.
//
// 50,000 candles draw in one frame: the library's own data conflation merges the bars thinner
// than a pixel for drawing (exact OHLC per merged bar), and everything not needed for that
// first frame (volume bars, indicators, markers) follows in the next one.

const LWC = window.LightweightCharts;
const INDICATORS = ["SMA 20", "SMA 50", "Bollinger 20", "RSI 14", "MACD"];
const OVERLAYS = ["Signals", "Paper trades", "Labels"];
const PANE_HEIGHTS = { volume: 0.14, rsi: 0.15, macd: 0.15 };
const REPORT_DELAY_MS = 300;  // the view is reported once the analyst pauses, not on every click
const ASK_TIMEOUT_MS = 15000;  // an ask for history that got no answer may be made again

function css(el, name, fallback) {
  const value = getComputedStyle(el).getPropertyValue(name).trim();
  return value || fallback;
}

function column(table, name) {
  const child = table.getChild(name);
  return child ? child.toArray() : null;
}

function fmt(value, decimals) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

function volumeText(value) {
  if (!Number.isFinite(value)) return "–";
  const units = [[1e9, "B"], [1e6, "M"], [1e3, "k"]];
  for (const [size, unit] of units) if (Math.abs(value) >= size) return (value / size).toFixed(2) + unit;
  return value.toFixed(0);
}

function timeText(seconds, intraday) {
  const iso = new Date(seconds * 1000).toISOString();
  return intraday ? iso.slice(0, 16).replace("T", " ") + " UTC" : iso.slice(0, 10);
}

// The first index whose time is at or after `t` (times ascending).
function lowerBound(times, t) {
  let lo = 0, hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function rangeStart(preset, last) {
  const day = 86400;
  const spans = { "1D": day, "1W": 7 * day, "1M": 31 * day, "3M": 92 * day, "1Y": 366 * day, "5Y": 5 * 366 * day };
  if (preset === "YTD") return Date.UTC(new Date(last * 1000).getUTCFullYear(), 0, 1) / 1000;
  return preset in spans ? last - spans[preset] : null;
}

// Tick labels. The library names a tick by the period its bar opens (year, month, day, time) and
// places ticks greedily, heavier periods first, at least a label's width apart. A month whose first
// bar is nearer than that to the previous month's tick gets none; the next bar that fits can get
// one, named by its day ("Sep 2 Nov" at 1Y where October opens with a short Sunday session). A
// tick that near the start of a year, month or (intraday) day stands for it: it reads as it. The
// library's options cannot say so: `uniformDistribution` drops the day ticks of every view, and a
// shorter `tickMarkMaxCharacterLength` only moves the zoom where it happens.
const PERIOD_STARTS = [  // [start, label], coarsest first: a tick of type t may stand for the first t
  [(d) => Date.UTC(d.getUTCFullYear(), 0, 1), (d) => String(d.getUTCFullYear())],
  [(d) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), (d) => d.toLocaleString("en-US", { month: "short", timeZone: "UTC" })],
  [(d) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()), (d) => String(d.getUTCDate())],
];

// The label of the tick at `time` (its TickMarkType `type`: 0 year, 1 month, 2 day, 3-4 time) when
// it stands for the start of a coarser period fewer than `reach` bars before it; null keeps the
// library's own label.
function periodStartLabel(times, time, type, reach) {
  const date = new Date(time * 1000);
  const i = lowerBound(times, time);
  for (const [start, label] of PERIOD_STARTS.slice(0, type)) {
    const first = start(date) / 1000;
    const s = lowerBound(times, first);
    if ((s > 0 || times[0] === first) && i - s < reach) return label(date);
  }
  return null;
}

function toolbarButton(label, title, pressed, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.title = title;
  b.setAttribute("aria-pressed", pressed ? "true" : "false");
  b.addEventListener("click", onClick);
  return b;
}

class CandleChart {
  constructor(root, setStateValue, setTriggerValue) {
    this.root = root;
    this.setStateValue = setStateValue;
    this.setTriggerValue = setTriggerValue;
    this.series = {};
    this.key = null;
    this.asked = null;  // when earlier history was asked for (ms), until it arrives
    this.pending = null;  // what to show once it arrives: a range preset, or "fit"
    this.wrap = document.createElement("div");
    this.wrap.className = "cl-wrap";
    this.bar = document.createElement("div");
    this.bar.className = "cl-toolbar";
    this.bar.setAttribute("role", "toolbar");
    this.box = document.createElement("div");
    this.box.className = "cl-chart";
    this.box.tabIndex = 0;
    this.box.setAttribute("aria-label", "Candle chart: arrows pan, + and − zoom, Home and End jump");
    this.legend = document.createElement("div");
    this.legend.className = "cl-legend";
    this.box.appendChild(this.legend);
    this.wrap.append(this.bar, this.box);
    root.appendChild(this.wrap);
    this.chart = LWC.createChart(this.box, {
      autoSize: true,
      crosshair: { mode: LWC.CrosshairMode.Normal },
      // Bars may be thinner than a pixel, so "All" really shows every candle (the default stops at 0.5 px).
      timeScale: {
        rightOffset: 5, borderVisible: false, minBarSpacing: 0.005, enableConflation: true,
        tickMarkFormatter: (time, type) => this.tickLabel(time, type),
      },
      rightPriceScale: { borderVisible: false },
      localization: { locale: "en-US" },
    });
    this.chart.timeScale().subscribeVisibleLogicalRangeChange((r) => { this.relabelTicks(); this.nearOldest(r); });
    this.chart.subscribeCrosshairMove((p) => this.hover(p));
    this.box.addEventListener("keydown", (e) => this.key_(e));
    this.onResize = () => this.fitHeight();
    window.addEventListener("resize", this.onResize);
    // Notices above the chart come and go (training progress, toasts): keep the fold in view.
    this.observer = new ResizeObserver(() => this.fitHeight());
    this.observer.observe(document.body);
  }

  destroy() {
    clearTimeout(this.reportTimer);
    window.removeEventListener("resize", this.onResize);
    this.observer.disconnect();
    this.chart.remove();
    this.wrap.remove();
  }

  // The chart fills the window below its top edge (at least 360 px), so every pane and the time
  // axis stay above the fold whatever the screen.
  fitHeight() {
    const top = this.box.getBoundingClientRect().top + window.scrollY;
    const height = Math.max(360, Math.round(window.innerHeight - top - 16));
    if (this.box.style.height === height + "px") return;
    this.box.style.height = height + "px";
    this.layoutPanes();
  }

  // The library keeps each tick's label until its options change; a zoom changes which ticks
  // stand for a period start, so then the labels are made again.
  relabelTicks() {
    if (this.reach !== undefined && this.tickReach() !== this.reach) {
      this.reach = undefined;
      this.chart.applyOptions({ timeScale: {} });
    }
  }

  tickLabel(time, type) {
    if (!this.times) return null;
    this.reach = this.tickReach();
    return periodStartLabel(this.times, time, type, this.reach);
  }

  // How many bars a tick label spans: the library keeps ticks that far apart (a label is
  // `tickMarkMaxCharacterLength` characters, 8 by default, of (fontSize + 4) * 5 / 8 px).
  tickReach() {
    const ts = this.chart.timeScale();
    const spacing = ts.logicalToCoordinate(1) - ts.logicalToCoordinate(0);
    const { layout, timeScale } = this.chart.options();
    const width = ((layout.fontSize + 4) * 5 / 8) * (timeScale.tickMarkMaxCharacterLength || 8);
    return spacing > 0 ? Math.ceil(width / spacing - 1e-6) : 1;
  }

  theme() {
    const bg = css(this.root.host || this.root, "--st-background-color", "#0e1117");
    const text = css(this.root.host || this.root, "--st-text-color", "#fafafa");
    this.wrap.style.setProperty("--cl-bg", bg);
    this.wrap.style.setProperty("--cl-text", text);
    this.chart.applyOptions({
      layout: {
        background: { type: "solid", color: bg },
        textColor: text,
        fontSize: 11,
        panes: { separatorColor: "rgba(128,128,128,0.35)" },
      },
      grid: { vertLines: { color: "rgba(128,128,128,0.10)" }, horzLines: { color: "rgba(128,128,128,0.10)" } },
    });
  }

  // The candles of `data` as columns, prices as numbers at the series' precision.
  take(data) {
    const meta = data.meta;
    this.meta = meta;
    this.times = column(data.candles, "t");
    // Prices too high for float32 arrive as int32 ticks: the division gives the nearest double
    // to the decimal price (60000.12, not 60000.1199...).
    const price = (name) => {
      const raw = column(data.candles, name);
      if (!meta.tick_prices) return raw;
      const scale = Math.pow(10, meta.decimals);
      const out = new Float64Array(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = raw[i] / scale;
      return out;
    };
    this.cols = {
      open: price("open"), high: price("high"), low: price("low"), close: price("close"),
      volume: column(data.candles, "volume"),
    };
    this.ind = new Indicators(this.cols.close);
    // What arrived, said on the element: the data's parts and the candle columns.
    this.box.dataset.received = Object.keys(data).join(",") + ":" + data.candles.schema.fields.map((f) => f.name).join(",");
    this.box.dataset.total = String(meta.total);
    this.asked = null;
  }

  candleRows() {
    const { open, high, low, close } = this.cols;
    const times = this.times;
    const rows = new Array(times.length);
    for (let i = 0; i < times.length; i++) rows[i] = { time: times[i], open: open[i], high: high[i], low: low[i], close: close[i] };
    return rows;
  }

  volumeRows() {
    const { up_fill: up, down_fill: down } = this.meta.colors;
    const { open, close, volume } = this.cols;
    const times = this.times;
    const rows = new Array(times.length);
    for (let i = 0; i < times.length; i++) rows[i] = { time: times[i], value: volume[i], color: close[i] >= open[i] ? up : down };
    return rows;
  }

  // The same series, longer into the past: the newest candles it held end `data`'s.
  extends(data) {
    if (!this.meta || !this.times || data.meta.pair !== this.meta.pair) return false;
    const times = column(data.candles, "t");
    const added = times.length - this.times.length;
    const n = this.times.length;
    return added > 0 && n > 0 && times[added] === this.times[0] && times[times.length - 1] === this.times[n - 1];
  }

  // Earlier history prepended: what was in view stays in view (or the range that asked for it is
  // shown), indicators are recomputed over the longer closes.
  extend(data) {
    const ts = this.chart.timeScale();
    const before = ts.getVisibleLogicalRange();
    const added = data.candles.numRows - this.times.length;
    this.take(data);
    this.series.candles.setData(this.candleRows());
    this.series.volume.setData(this.volumeRows());
    this.applyView(false);
    const pending = this.pending;
    this.pending = null;
    if (pending === "fit") ts.fitContent();
    else if (pending) this.applyRange(pending, null);
    else if (before) ts.setVisibleLogicalRange({ from: before.from + added, to: before.to + added });
    this.hover(null);
    this.key = data.meta.key;
    this.box.dataset.candles = String(this.times.length);
    this.box.dataset.key = data.meta.key;
    if (pending && pending !== "fit") this.reportSoon();
  }

  complete() {
    return !this.meta || this.times.length >= this.meta.total;
  }

  // Ask the page for earlier history: twice the candles held, or all a range needs ("All": every one).
  askHistory(range) {
    if (this.complete()) return;
    const now = performance.now();
    if (this.asked !== null && now - this.asked < ASK_TIMEOUT_MS) return;
    this.asked = now;
    this.box.dataset.asking = String(Number(this.box.dataset.asking || 0) + 1);
    this.setTriggerValue("history", { pair: this.meta.pair, held: this.times.length, range: range || null });
    this.hover(this.hovered);
  }

  // Scrolled back to within a screen of the oldest candle held: fetch more before it is reached.
  nearOldest(r) {
    if (!r || !this.times || this.complete() || this.box.dataset.candles === undefined) return;
    if (r.from < Math.max(50, r.to - r.from)) this.askHistory(null);
  }

  // A range that starts before the oldest candle held: shown from what is here at once, exactly
  // once the rest arrives.
  reachesBack(preset) {
    if (this.complete()) return false;
    if (preset === "All") return true;
    const start = rangeStart(preset, this.times[this.times.length - 1]);
    return start !== null && start < this.times[0];
  }

  load(data) {
    const meta = data.meta;
    const view = this.restoredView(meta);
    const t0 = performance.now();
    this.pending = null;
    this.take(data);
    const times = this.times;
    if (this.markers) { this.markers.detach(); this.markers = null; }
    for (const s of Object.values(this.series)) this.chart.removeSeries(s);
    this.series = {};
    this.priceLines = [];
    this.shownMarkers = [];
    this.view = view;
    // The toolbar and the height first: the chart's first paint is at its final size.
    this.buildToolbar();
    this.fitHeight();
    const fmtPrice = { type: "price", precision: meta.decimals, minMove: Math.pow(10, -meta.decimals) };
    this.chart.applyOptions({ timeScale: { timeVisible: meta.intraday, secondsVisible: false } });
    const candles = this.chart.addSeries(LWC.CandlestickSeries, {
      upColor: meta.colors.up, downColor: meta.colors.down, wickUpColor: meta.colors.up,
      wickDownColor: meta.colors.down, borderVisible: false, priceFormat: fmtPrice,
    }, 0);
    const n = times.length;
    candles.setData(this.candleRows());
    this.series.candles = candles;
    // The volume pane is there from the first frame; its bars follow in the next one, with the
    // indicators and markers, so the candles paint first.
    const vol = this.chart.addSeries(LWC.HistogramSeries, {
      priceFormat: { type: "volume" }, lastValueVisible: false, priceLineVisible: false,
    }, 1);
    if (n) vol.setData([{ time: times[n - 1] }]);
    this.series.volume = vol;
    this.key = meta.key;
    this.panes = { volume: 1 };
    this.layoutPanes();
    this.applyRange(view.range, view.candles);
    // Drawn: the frame after the library's own paint of these candles. Indicators and overlays
    // follow in the next frame, from the same data, keeping the range.
    requestAnimationFrame(() => requestAnimationFrame(() => {
      this.box.dataset.drawnMs = (performance.now() - t0).toFixed(1);
      vol.setData(this.volumeRows());
      this.applyView();
      this.hover(null);
      this.box.dataset.candles = String(n);
      this.box.dataset.key = meta.key;
      // For timings taken in the page (bench/dashboard.py): the candles are painted.
      performance.mark("candlelab:chart-drawn", { detail: { candles: n } });
      // A view remembered in this tab may reach further back than the candles sent.
      if (view.range && this.reachesBack(view.range)) {
        this.pending = view.range;
        this.askHistory(view.range);
      }
    }));
  }

  restoredView(meta) {
    const stored = sessionStorage.getItem("candlelab.view." + meta.memory);
    const base = { ...meta.view };
    if (stored) {
      try { Object.assign(base, JSON.parse(stored)); } catch (e) { /* a corrupt entry: the page's view */ }
    }
    if (meta.view_pinned) Object.assign(base, meta.view);  // a link's explicit view wins once
    if (!meta.presets.includes(base.range)) base.range = base.candles ? null : meta.presets[meta.presets.length - 1];
    return base;
  }

  // The view is kept in the tab at once and reported to the page (a rerun) once the analyst pauses.
  reportSoon() {
    const v = { range: this.view.range, indicators: this.view.indicators, overlays: this.view.overlays, log: this.view.log };
    sessionStorage.setItem("candlelab.view." + this.meta.memory, JSON.stringify(v));
    clearTimeout(this.reportTimer);
    this.reportTimer = setTimeout(() => this.setStateValue("view", v), REPORT_DELAY_MS);
  }

  lineData(name) {
    const values = this.ind.get(name);
    const out = [];
    for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) out.push({ time: this.times[i], value: values[i] });
    return out;
  }

  addLine(id, column, color, pane, extra = {}) {
    const s = this.chart.addSeries(LWC.LineSeries, {
      color, lineWidth: 1, lastValueVisible: false, priceLineVisible: false, crosshairMarkerVisible: false, ...extra,
    }, pane);
    s.setData(this.lineData(column));
    this.series[id] = s;
    return s;
  }

  // Indicators, overlays and the scale, redrawn from data already here; the visible range is
  // restored afterwards, so toggling never loses the zoom.
  applyView(keepRange = true) {
    const range = keepRange ? this.chart.timeScale().getVisibleLogicalRange() : null;
    const c = this.meta.colors;
    for (const id of Object.keys(this.series)) {
      if (id !== "candles" && id !== "volume") { this.chart.removeSeries(this.series[id]); delete this.series[id]; }
    }
    const on = new Set(this.view.indicators);
    const fmtPrice = { type: "price", precision: this.meta.decimals, minMove: Math.pow(10, -this.meta.decimals) };
    if (on.has("SMA 20")) this.addLine("sma20", "sma_20", c.sma20, 0, { priceFormat: fmtPrice, title: "SMA 20" });
    if (on.has("SMA 50")) this.addLine("sma50", "sma_50", c.sma50, 0, { priceFormat: fmtPrice, title: "SMA 50" });
    if (on.has("Bollinger 20")) {
      this.addLine("bbu", "bb_upper", c.muted, 0, { lineStyle: LWC.LineStyle.Dotted, priceFormat: fmtPrice });
      this.addLine("bbl", "bb_lower", c.muted, 0, { lineStyle: LWC.LineStyle.Dotted, priceFormat: fmtPrice });
    }
    let pane = 2;
    this.panes = { volume: 1 };
    if (on.has("RSI 14")) {
      const rsi = this.addLine("rsi", "rsi_14", c.rsi, pane, { lineWidth: 1.5, title: "RSI 14", priceFormat: { type: "price", precision: 1, minMove: 0.1 } });
      for (const level of [30, 70]) rsi.createPriceLine({ price: level, color: c.muted, lineStyle: LWC.LineStyle.Dotted, lineWidth: 1, axisLabelVisible: false });
      this.panes.rsi = pane++;
    }
    if (on.has("MACD")) {
      const f = { type: "price", precision: 3, minMove: 0.001 };
      const hist = this.chart.addSeries(LWC.HistogramSeries, { color: c.muted, priceFormat: f, lastValueVisible: false, priceLineVisible: false }, pane);
      hist.setData(this.lineData("macd_hist_pct"));
      this.series.macdh = hist;
      this.addLine("macd", "macd_pct", c.macd, pane, { lineWidth: 1.5, title: "MACD %", priceFormat: f });
      this.addLine("macds", "macd_signal_pct", c.accent, pane, { title: "signal", priceFormat: f });
      this.panes.macd = pane++;
    }
    this.drawOverlays();
    this.series.candles.priceScale().applyOptions({
      mode: this.view.log ? LWC.PriceScaleMode.Logarithmic : LWC.PriceScaleMode.Normal,
    });
    this.layoutPanes();
    if (range) this.chart.timeScale().setVisibleLogicalRange(range);
    this.box.dataset.panes = String(this.chart.panes().length);
  }

  // Shares of the height, not pixels: they hold through resizes and a pane added or removed.
  layoutPanes() {
    const panes = this.chart.panes();
    if (!panes.length) return;
    let rest = 1;
    for (const [name, share] of Object.entries(PANE_HEIGHTS)) {
      const i = this.panes && this.panes[name];
      if (i !== undefined && panes[i]) { panes[i].setStretchFactor(share); rest -= share; }
    }
    panes[0].setStretchFactor(rest);
  }

  drawOverlays() {
    for (const line of this.priceLines) this.series.candles.removePriceLine(line);
    this.priceLines = [];
    const on = new Set(this.view.overlays);
    const marks = [];
    if (on.has("Signals")) {
      for (const lv of this.meta.levels) {
        this.priceLines.push(this.series.candles.createPriceLine({
          price: lv.price, color: lv.color, lineWidth: 1, lineStyle: lv.kind === "stop" ? LWC.LineStyle.Dotted : LWC.LineStyle.Dashed,
          axisLabelVisible: true, title: lv.title,
        }));
      }
      marks.push(...this.meta.markers.signals);
    }
    if (on.has("Paper trades")) marks.push(...this.meta.markers.trades);
    if (on.has("Labels")) marks.push(...this.meta.markers.labels);
    marks.push(...this.meta.markers.spacing);
    marks.sort((a, b) => a.time - b.time);
    this.shownMarkers = marks;
    // The markers primitive reads the whole series on each change: it exists only once there is
    // something to mark.
    if (!marks.length && !this.markers) return;
    const shown = marks.map(({ time, position, color, shape, text }) => ({ time, position, color, shape, text }));
    if (this.markers) this.markers.setMarkers(shown);
    else this.markers = LWC.createSeriesMarkers(this.series.candles, shown);
  }

  applyRange(preset, candles) {
    const ts = this.chart.timeScale();
    const n = this.times.length;
    if (!n) return;
    if (candles) {
      ts.setVisibleLogicalRange({ from: Math.max(0, n - candles), to: n - 1 + 5 });
      return;
    }
    const start = preset ? rangeStart(preset, this.times[n - 1]) : null;
    if (start === null) { ts.fitContent(); return; }
    ts.setVisibleLogicalRange({ from: lowerBound(this.times, start), to: n - 1 + 5 });
  }

  // Whether a toolbar button is pressed in the current view.
  pressed(kind, name) {
    if (kind === "range") return this.view.range === name;
    if (kind === "indicator") return this.view.indicators.includes(name);
    if (kind === "overlay") return this.view.overlays.includes(name);
    return kind === "log" && !!this.view.log;
  }

  // A click changes the pressed states only: the buttons stay (no toolbar rebuilt per click).
  syncToolbar() {
    for (const b of this.bar.querySelectorAll("button")) {
      b.setAttribute("aria-pressed", this.pressed(b.dataset.kind, b.dataset.name) ? "true" : "false");
    }
  }

  buildToolbar() {
    this.bar.replaceChildren();
    const group = (label) => {
      const g = document.createElement("div");
      g.className = "cl-group";
      g.setAttribute("role", "group");
      g.setAttribute("aria-label", label);
      this.bar.appendChild(g);
      return g;
    };
    const add = (g, kind, name, title, onClick) => {
      const b = toolbarButton(name, title, this.pressed(kind, name), () => { onClick(); this.syncToolbar(); });
      b.dataset.kind = kind;
      b.dataset.name = name;
      g.appendChild(b);
    };
    const ranges = group("Range");
    for (const p of this.meta.presets) {
      add(ranges, "range", p, `Show ${p === "All" ? "the whole history" : p} back from the newest bar`, () => {
        this.view.range = p; this.view.candles = null; this.applyRange(p, null);
        // The report waits for the history this range needs, so one rerun brings both.
        if (this.reachesBack(p)) { this.pending = p; this.askHistory(p); } else this.reportSoon();
      });
    }
    const ind = group("Indicators");
    for (const name of INDICATORS) {
      add(ind, "indicator", name, `Show or hide ${name}`, () => {
        const s = new Set(this.view.indicators);
        s.has(name) ? s.delete(name) : s.add(name);
        this.view.indicators = INDICATORS.filter((x) => s.has(x));
        this.applyView(); this.reportSoon();
      });
    }
    const ov = group("Overlays");
    for (const name of OVERLAYS) {
      add(ov, "overlay", name, `Show or hide ${name.toLowerCase()}`, () => {
        const s = new Set(this.view.overlays);
        s.has(name) ? s.delete(name) : s.add(name);
        this.view.overlays = OVERLAYS.filter((x) => s.has(x));
        const range = this.chart.timeScale().getVisibleLogicalRange();
        this.drawOverlays();
        if (range) this.chart.timeScale().setVisibleLogicalRange(range);
        this.reportSoon();
      });
    }
    const scale = group("Scale");
    add(scale, "log", "Log", "Logarithmic price scale", () => {
      this.view.log = !this.view.log; this.applyView(); this.reportSoon();
    });
    add(scale, "fit", "Fit", "Fit every candle in view", () => {
      this.chart.timeScale().fitContent();
      if (!this.complete()) { this.pending = "fit"; this.askHistory("All"); }
    });
  }

  key_(e) {
    const ts = this.chart.timeScale();
    const r = ts.getVisibleLogicalRange();
    if (!r) return;
    const width = r.to - r.from;
    const step = Math.max(1, Math.round(width / 10));
    const moves = {
      ArrowLeft: () => ts.setVisibleLogicalRange({ from: r.from - step, to: r.to - step }),
      ArrowRight: () => ts.setVisibleLogicalRange({ from: r.from + step, to: r.to + step }),
      "+": () => ts.setVisibleLogicalRange({ from: r.from + width / 4, to: r.to }),
      "=": () => ts.setVisibleLogicalRange({ from: r.from + width / 4, to: r.to }),
      "-": () => ts.setVisibleLogicalRange({ from: r.from - width / 2, to: r.to }),
      Home: () => ts.setVisibleLogicalRange({ from: 0, to: width }),
      End: () => ts.scrollToRealTime(),
    };
    if (moves[e.key]) { e.preventDefault(); moves[e.key](); }
  }

  hover(p) {
    this.hovered = p;
    const d = this.meta.decimals;
    let i = this.times.length - 1;
    if (p && p.time !== undefined) i = lowerBound(this.times, p.time);
    if (i < 0 || i >= this.times.length) { this.legend.textContent = ""; return; }
    const { open, high, low, close, volume } = this.cols;
    const lines = [
      `${this.meta.title} · ${timeText(this.times[i], this.meta.intraday)}`,
      `O ${fmt(open[i], d)}  H ${fmt(high[i], d)}  L ${fmt(low[i], d)}  C ${fmt(close[i], d)}  V ${volumeText(volume[i])}`,
    ];
    for (const m of this.shownMarkers || []) if (m.time === this.times[i] && m.detail) lines.push(m.detail);
    if (this.asked !== null) lines.push("Loading earlier history…");
    this.legend.replaceChildren(...lines.map((t) => { const div = document.createElement("div"); div.textContent = t; return div; }));
  }
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let chart = parentElement.__candleChart;
  if (!chart) {
    chart = new CandleChart(parentElement, setStateValue, setTriggerValue);
    parentElement.__candleChart = chart;
  }
  chart.setStateValue = setStateValue;
  chart.setTriggerValue = setTriggerValue;
  chart.theme();
  if (data && data.meta && data.meta.key !== chart.key) {
    if (chart.extends(data)) chart.extend(data);
    else chart.load(data);
  } else if (chart.meta) chart.fitHeight();
  return () => { chart.destroy(); delete parentElement.__candleChart; };
}
