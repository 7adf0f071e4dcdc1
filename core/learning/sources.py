"""Where a training sample came from.

`paper`: a paper trade of a version's own model; `live`: an engine's executed trade;
`walkforward`: a replay of the calls a version's walk-forward fold models made on their own
out-of-sample bars. All three are outcomes to learn from; only the first two are a version's
live record (live accuracy, demotion).
"""

PAPER, LIVE, WALKFORWARD = "paper", "live", "walkforward"
