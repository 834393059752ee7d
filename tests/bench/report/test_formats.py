"""Each number in its metric's format: rates to 3 decimals, BLEU/chrF to one on 0-100 (even below 1)."""
import pandas as pd

from nlpbench.report.table_base import Spec, Table
from nlpbench.report.tables import build_tables, display


def _translation(seed: int, bleu: float) -> dict:
    return {"cell": f"quality/translation/gru/test/seed{seed}", "kind": "quality", "task": "translation",
            "dataset": "d", "split": "test", "name": "gru", "model": "gru_attn", "seed": seed, "status": "ok",
            "metrics": {"bleu": bleu, "bleu_ci95": [0.02, 0.31], "chrf": 12.345, "bleu_signature": "nrefs:1"}}


def test_bleu_prints_one_decimal_in_quality_seed_and_pairwise_tables():
    (per_seed, summary) = build_tables([_translation(0, 0.136), _translation(1, 0.152)])
    shown = display(per_seed)
    assert list(shown["BLEU [95% CI]"]) == ["0.1 [0.0, 0.3]", "0.2 [0.0, 0.3]"]
    assert list(shown["chrF [95% CI]"]) == ["12.3", "12.3"]
    assert display(summary)["BLEU (mean ± sd)"].item() == "0.1 ± 0.0"
    rows = pd.DataFrame([{"model_a": "a", "model_b": "b", "metric": "bleu", "a": 0.136, "b": 0.5, "delta": -0.364,
                          "delta_lo": -0.5, "delta_hi": -0.2},
                         {"model_a": "a", "model_b": "b", "metric": "accuracy", "a": 0.9, "b": 0.85, "delta": 0.05,
                          "delta_lo": 0.01, "delta_hi": 0.09}])
    spec = Spec("pairwise_x", "Pairwise", ("model_a", "model_b"), tuple((c, c) for c in rows.columns[2:]), ())
    out = display(Table(spec, rows))
    assert list(out["value A"]) == ["0.1", "0.900"]
    assert list(out["Δ [95% CI]"]) == ["-0.4 [-0.5, -0.2]", "0.050 [0.010, 0.090]"]
