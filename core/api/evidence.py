"""What an engine needs to judge a version before it trades its calls: the out-of-sample numbers
the promotion gate reads, from the version's stored metrics (no extra query per version).

The same figures the Models page shows (`core.views.evidence`): walk-forward directional
accuracy beside its naive baseline, with bars counted, independent points and a 95 % interval;
the edge and its p-value; trade hit rates after costs beside the baseline's under the same rules;
how the confidence in `/ai/signals` is calibrated; and whether the gate's evidence rule holds.
"""

from __future__ import annotations

from typing import Any

from core.registry import gate
from core.settings import Settings

_COPIED = (
    "directional_accuracy",
    "directional_accuracy_n",
    "directional_effective_n",
    "directional_accuracy_ci",
    "baseline_directional_accuracy",
    "baseline_kind",
    "directional_edge",
    "hit_rate",
    "baseline_hit_rate",
    "pnl",
    "baseline_pnl",
)


def calibration_method(metrics: dict[str, Any]) -> str:
    """How a version's signal confidence is calibrated: isotonic, constant, or none (raw)."""
    calls = (metrics.get("confidence_calibration") or {}).get("calls") or {}
    return str(calls.get("method", "none"))


def evidence_of(metrics: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The `Evidence` answer (`core.api.schemas.Evidence`) for one version's metrics."""
    ev = gate.evidence(metrics, min_points=settings.promotion_min_effective, alpha=settings.promotion_alpha)
    return {
        **{key: metrics.get(key) for key in _COPIED},
        "edge_p_value": metrics.get("directional_edge_p_value"),
        "calibration": calibration_method(metrics),
        "has_evidence": ev.passed,
        "evidence_reason": ev.reason,
    }
