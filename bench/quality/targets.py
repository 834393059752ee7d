"""Time-to-target: how much training a model needed to first reach a quality target.

A task may set `targets: {accuracy: 0.80}` (or `{bleu: 25}`) on its selection
metric (the one scored on validation during training, `select_metric`). Each
quality record then gets `time_to_target: {"accuracy>=0.8": {"minutes", "steps",
"examples", "epoch"} | null}` read from the validation curve the trainer already
logs (null when never reached); `stopped_by_clock` says whether `max_minutes`
cut training short, in which case a null may only mean "not within the cap".
"""
from __future__ import annotations


def label(metric: str, target: float) -> str:
    return f"{metric}>={target:g}"


def time_to_target(history: list[dict], targets: dict[str, float], select: str) -> dict:
    """First validation pass whose score reaches each target (targets on other metrics are not logged: None)."""
    out = {}
    for metric, target in targets.items():
        hit = next((h for h in history if metric == select and h["score"] >= target), None)
        out[label(metric, target)] = None if hit is None else {
            "minutes": hit.get("minutes"), "steps": hit.get("step"), "examples": hit.get("examples"),
            "epoch": hit.get("epoch")}
    return out
