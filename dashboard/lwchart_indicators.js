// Indicators computed in the browser from the candles' closes, so the wire carries candles alone.
//
// The formulas are those of core/features/indicators.py (pandas): trailing windows that start
// once full, exponential averages seeded with their first value (ewm adjust=False) and defined
// once `minPeriods` values went in, RSI as Wilder's average gain over gain plus loss (0.5 when
// flat), MACD as the EMA 12 − EMA 26 spread over the close. Values are NaN during warm-up.

function rollingMean(x, n) {
  const out = new Float64Array(x.length).fill(NaN);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    sum += x[i];
    if (i >= n) sum -= x[i - n];
    if (i >= n - 1) out[i] = sum / n;
  }
  return out;
}

// Population standard deviation (ddof 0) around each window's own mean: two passes per window
// keep the precision of 5-decimal prices that a running sum of squares would lose.
function rollingStd(x, n, mean) {
  const out = new Float64Array(x.length).fill(NaN);
  for (let i = n - 1; i < x.length; i++) {
    const m = mean[i];
    let ss = 0;
    for (let j = i - n + 1; j <= i; j++) { const d = x[j] - m; ss += d * d; }
    out[i] = Math.sqrt(ss / n);
  }
  return out;
}

function ewm(x, alpha, minPeriods) {
  const out = new Float64Array(x.length).fill(NaN);
  let y = NaN, seen = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) continue;
    y = seen === 0 ? v : (1 - alpha) * y + alpha * v;
    seen++;
    if (seen >= minPeriods) out[i] = y;
  }
  return out;
}

const INDICATOR_COLUMNS = {
  sma_20: (c) => rollingMean(c, 20),
  sma_50: (c) => rollingMean(c, 50),
  bollinger: (c) => {
    const mid = rollingMean(c, 20);
    const sd = rollingStd(c, 20, mid);
    const upper = mid.map((m, i) => m + 2 * sd[i]);
    const lower = mid.map((m, i) => m - 2 * sd[i]);
    return { bb_upper: upper, bb_lower: lower };
  },
  rsi_14: (c) => {
    const n = c.length;
    const gain = new Float64Array(n).fill(NaN), loss = new Float64Array(n).fill(NaN);
    for (let i = 1; i < n; i++) { const d = c[i] - c[i - 1]; gain[i] = d > 0 ? d : 0; loss[i] = d < 0 ? -d : 0; }
    const g = ewm(gain, 1 / 14, 14), l = ewm(loss, 1 / 14, 14);
    return g.map((v, i) => (Number.isFinite(v) ? (v + l[i] > 0 ? (100 * v) / (v + l[i]) : 50) : NaN));
  },
  macd: (c) => {
    const fast = ewm(c, 2 / 13, 12), slow = ewm(c, 2 / 27, 26);
    const macd = fast.map((f, i) => (f - slow[i]) / c[i]);
    const signal = ewm(macd, 2 / 10, 9);
    return {
      macd_pct: macd.map((v) => v * 100),
      macd_signal_pct: signal.map((v) => v * 100),
      macd_hist_pct: macd.map((v, i) => (v - signal[i]) * 100),
    };
  },
};

// Which computation yields each column the chart draws.
const INDICATOR_SOURCE = {
  sma_20: "sma_20", sma_50: "sma_50", bb_upper: "bollinger", bb_lower: "bollinger", rsi_14: "rsi_14",
  macd_pct: "macd", macd_signal_pct: "macd", macd_hist_pct: "macd",
};

// Columns computed on first use and kept for the data they came from.
class Indicators {
  constructor(close) {
    this.close = close;
    this.cache = new Map();
  }

  get(column) {
    if (!this.cache.has(column)) {
      const source = INDICATOR_SOURCE[column];
      const result = INDICATOR_COLUMNS[source](this.close);
      if (result instanceof Float64Array) this.cache.set(column, result);
      else for (const [name, values] of Object.entries(result)) this.cache.set(name, values);
    }
    return this.cache.get(column);
  }
}
