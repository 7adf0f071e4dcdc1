"""A paper trading engine on the CandleLab service API: the loop a live engine runs, end to end.

Each step it polls `GET /ai/signals`, opens a paper position on every actionable BUY or SELL call
(`POST /ai/outcomes` with the call's prediction, features and version), moves a price feed one
bar, and closes positions at their target, their stop or the call's horizon
(`POST /ai/outcomes/{order_id}/close`). Order ids are derived from the call (bot, version, bar),
so resending after a dropped answer is always safe: the API records each order once and answers
a retry with the same record.

The price feed is a seeded random walk from the call's price (offline, so the loop runs on any
machine); a real engine would read its broker's prices here instead. It needs only `httpx`.

    python -m core tokens create --name paper-engine --scopes read,outcomes   # once
    export CANDLELAB_API_TOKEN=cl_...                                         # never on a command line
    python examples/paper_engine.py --symbol GBPUSD --timeframe 1d --steps 50 --accept-stale
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

RETRIES = 5


@dataclass
class Position:
    order_id: str
    bot: str
    side: str  # BUY or SELL
    entry: float
    target: float
    stop: float
    opened_at: datetime
    bar: timedelta
    horizon: int
    bars_held: int = 0

    def exit_at(self, price: float) -> tuple[float, str] | None:
        """Where and why this bar closes the position, if it does (target and stop fill at their price)."""
        long = self.side == "BUY"
        if (price >= self.target) if long else (price <= self.target):
            return self.target, "target"
        if (price <= self.stop) if long else (price >= self.stop):
            return self.stop, "stop"
        if self.bars_held >= self.horizon:
            return price, "timeout"
        return None


class RandomWalkFeed:
    """One price per bar: a seeded lognormal random walk, started at the first price it is shown."""

    def __init__(self, vol: float, seed: int) -> None:
        self.vol, self.rng, self.price = vol, random.Random(seed), math.nan

    def start(self, price: float) -> None:
        if math.isnan(self.price):
            self.price = price

    def next_bar(self) -> float:
        self.price *= math.exp(self.rng.gauss(0.0, self.vol))
        return self.price


class Api:
    """The few calls the engine makes, each retried on network errors and 5xx (all are idempotent)."""

    def __init__(self, url: str, token: str, resend_rate: float, seed: int) -> None:
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        self.resend_rate, self.rng = resend_rate, random.Random(seed + 1)
        self.replays = 0

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(RETRIES):
            try:
                reply = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                print(f"  network error ({exc}); retrying", file=sys.stderr)
            else:
                if reply.status_code < 500:
                    return reply
                print(f"  server error {reply.status_code}; retrying", file=sys.stderr)
            time.sleep(0.2 * 2**attempt)
        raise SystemExit(f"{method} {path} failed {RETRIES} times; giving up")

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = self.call("POST", path, json=body)
        if reply.status_code >= 400:
            raise SystemExit(f"POST {path} refused ({reply.status_code}): {reply.json()['error']['message']}")
        if self.rng.random() < self.resend_rate:  # as if the answer had been lost: send it again
            again = self.call("POST", path, json=body).json()
            assert again["id"] == reply.json()["id"] and again["replayed"], again
            self.replays += 1
        return dict(reply.json())


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def actionable(signal: dict[str, Any], args: argparse.Namespace) -> str | None:
    """Why a call is not traded, or None when it is."""
    if signal["recommendation"] not in ("BUY", "SELL"):
        return "HOLD"
    if signal["confidence"] < args.min_confidence:
        return f"confidence {signal['confidence']:.2f} below {args.min_confidence:.2f}"
    if signal["stale"] and not args.accept_stale:
        return f"stale (valid until {signal['valid_until']})"
    return None


def open_positions(
    api: Api,
    answer: dict[str, Any],
    book: dict[str, Position],
    seen: set[str],
    totals: dict[str, float],
    args: argparse.Namespace,
) -> None:
    horizon = answer["horizon_bars"]
    for signal in answer["signals"]:
        as_of = parse_time(signal["as_of"])
        order_id = f"{args.prefix}-{signal['bot']}-v{signal['version_id']}-{as_of:%Y%m%dT%H%M}"
        if order_id in seen:
            continue
        seen.add(order_id)
        why_not = actionable(signal, args)
        if why_not:
            print(f"skip {signal['bot']} {signal['recommendation']} at {signal['as_of']}: {why_not}")
            continue
        body = {
            "order_id": order_id,
            "version_id": signal["version_id"],
            "recommendation": signal["recommendation"],
            "confidence": signal["confidence"],
            "entry_price": signal["current_price"],
            "predicted_at": signal["as_of"],
            "target": signal["target"],
            "stop_loss": signal["stop_loss"],
            "predicted_return": signal["predicted_return"],
            "features": answer["features"],
            "source": "paper",
        }
        record = api.post("/ai/outcomes", body)
        bar = (parse_time(signal["valid_until"]) - as_of) / horizon
        book[order_id] = Position(
            order_id=order_id,
            bot=signal["bot"],
            side=signal["recommendation"],
            entry=signal["current_price"],
            target=signal["target"],
            stop=signal["stop_loss"],
            opened_at=as_of,
            bar=bar,
            horizon=horizon,
        )
        totals["opened"] += 1
        print(f"open  {order_id}: {body['recommendation']} @ {body['entry_price']} (sample {record['id']})")


def close_positions(api: Api, book: dict[str, Position], price: float, totals: dict[str, float]) -> None:
    for order_id, position in list(book.items()):
        position.bars_held += 1
        exit_ = position.exit_at(price)
        if exit_ is None:
            continue
        exit_price, reason = exit_
        exit_time = position.opened_at + position.bar * position.bars_held
        body = {"exit_price": exit_price, "exit_time": exit_time.isoformat(), "exit_reason": reason}
        record = api.post(f"/ai/outcomes/{order_id}/close", body)
        totals["closed"] += 1
        totals["pnl"] += record["pnl"]
        held = position.bars_held
        print(f"close {order_id}: {reason} @ {exit_price:.6g} after {held} bars, P&L {record['pnl']:+.6g}")
        del book[order_id]


def run(args: argparse.Namespace, token: str) -> dict[str, Any]:
    api = Api(args.api, token, args.resend_rate, args.seed)
    feed = RandomWalkFeed(args.feed_vol, args.seed)
    book: dict[str, Position] = {}
    seen: set[str] = set()
    totals = {"opened": 0.0, "closed": 0.0, "pnl": 0.0}
    step = 0
    while args.steps is None or step < args.steps:
        reply = api.call("GET", "/ai/signals", params={"symbol": args.symbol, "timeframe": args.timeframe})
        if reply.status_code != 200:
            raise SystemExit(
                f"GET /ai/signals refused ({reply.status_code}): {reply.json()['error']['message']}"
            )
        answer = reply.json()
        if not answer["signals"] and step == 0:
            print(f"no calls: {answer['reason']}")
        for signal in answer["signals"]:
            feed.start(signal["current_price"])
        open_positions(api, answer, book, seen, totals, args)
        if not math.isnan(feed.price):
            close_positions(api, book, feed.next_bar(), totals)
        step += 1
        time.sleep(args.poll_seconds)
    return {
        "opened": int(totals["opened"]),
        "closed": int(totals["closed"]),
        "open": len(book),
        "pnl": round(totals["pnl"], 8),
        "replays": api.replays,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="the service API's base URL")
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--timeframe", required=True)
    parser.add_argument("--min-confidence", type=float, default=0.55)
    parser.add_argument("--steps", type=int, help="bars to run for (default: until Ctrl-C)")
    parser.add_argument("--poll-seconds", type=float, default=1.0, help="wall time per bar")
    parser.add_argument("--feed-vol", type=float, default=0.01, help="per-bar volatility of the feed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--prefix", default="paper", help="start of every order id this engine makes")
    parser.add_argument("--resend-rate", type=float, default=0.0, help="share of posts sent twice")
    parser.add_argument(
        "--accept-stale", action="store_true", help="trade calls past their validity (demos on old bars)"
    )
    args = parser.parse_args()
    token = os.environ.get("CANDLELAB_API_TOKEN")
    if not token:
        raise SystemExit("set CANDLELAB_API_TOKEN (python -m core tokens create --scopes read,outcomes)")
    try:
        summary = run(args, token)
    except KeyboardInterrupt:
        return
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
