"""The end-to-end protocol benchmark runs through the product on a CPU (a smoke run)."""

from __future__ import annotations

import json

from benchmarks.paper_protocol_e2e import main


def test_the_end_to_end_benchmark_plans_trains_and_imports_every_oof_probability(
        tmp_path, capsys):
    out = main(["--device", "cpu", "--epochs", "1", "--archs", "resnet18", "--input-px", "32",
                "--subjects", "5,5,5", "--workspace", str(tmp_path / "ws")])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == out
    assert out["status"] == "finished" and out["units"] == 5  # 1 architecture x 5 folds
    assert out["oof_predictions"] == out["subjects"] == 15  # one per photo, from the store
    assert out["end_to_end_s"] >= out["train_s"] > 0
