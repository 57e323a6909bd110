"""Run checkpoints: SHA-256 recorded when written, verified before every load, safe loading."""

from __future__ import annotations

import hashlib
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from wbsdesk.errors import UserError
from wbsdesk.ml.checkpoints import (
    checkpoint_records,
    load_checkpoint,
    record_path,
    recorded_sha256,
    save_checkpoint,
    verify_file,
)

REPO = Path(__file__).resolve().parents[2]
LABEL = "run 'r1', resnet18 fold 2"


def _payload(epoch: int) -> dict:
    g = torch.Generator().manual_seed(epoch)
    return {"model": {"w": torch.randn(4, 3, generator=g)}, "config": {"arch": "resnet18"},
            "epoch": epoch}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_save_records_the_sha256_and_load_checks_it(tmp_path):
    path = tmp_path / "fold2" / "checkpoint.pt"
    sha = save_checkpoint(path, _payload(1))
    assert sha == _sha(path)
    # sha256sum format: 'sha256sum -c checkpoint.pt.sha256' checks it by hand
    assert record_path(path).read_text() == f"{sha}  checkpoint.pt\n"
    ckpt, got = load_checkpoint(path, checkpoint_records(path), label=LABEL)
    assert got == sha and ckpt["epoch"] == 1 and torch.equal(ckpt["model"]["w"],
                                                              _payload(1)["model"]["w"])
    sha2 = save_checkpoint(path, _payload(2))  # the record follows the file
    assert recorded_sha256(path) == [sha2] and sha2 == _sha(path)
    assert [p.name for p in sorted(path.parent.iterdir())] == ["checkpoint.pt",
                                                               "checkpoint.pt.sha256"]


def test_a_checkpoint_swapped_for_another_is_refused_naming_it(tmp_path):
    one, two = tmp_path / "fold1" / "checkpoint.pt", tmp_path / "fold2" / "checkpoint.pt"
    save_checkpoint(one, _payload(1))
    save_checkpoint(two, _payload(2))
    two.write_bytes(one.read_bytes())  # fold 1's (valid) checkpoint planted in fold 2
    with pytest.raises(UserError) as err:
        load_checkpoint(two, checkpoint_records(two), label=LABEL)
    text = str(err.value)
    assert LABEL in text and str(two) in text and "SHA-256" in text
    assert "checkpoint.pt.sha256" in text  # where the expected hash is recorded
    with pytest.raises(UserError, match=r"differs from the one recorded in done\.json"):
        verify_file(two, checkpoint_records(two, done={"checkpoint_sha256": "0" * 64}),
                    label=LABEL)
    # the store's record is checked too, even when the folder's records were rewritten
    save_checkpoint(two, _payload(1))
    with pytest.raises(UserError, match="the workspace database"):
        load_checkpoint(two, checkpoint_records(two, stored="f" * 64), label=LABEL)


def test_a_checkpoint_without_a_record_is_not_used(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save(_payload(1), path)
    with pytest.raises(UserError, match="no recorded SHA-256"):
        load_checkpoint(path, checkpoint_records(path), label=LABEL)


def _rerecord(path: Path) -> None:
    """Someone who also rewrote the record: only loading itself can catch the file now."""
    record_path(path).write_text(f"{_sha(path)}  {path.name}\n")


def test_a_truncated_checkpoint_is_a_plain_error_without_weights_only_advice(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, _payload(1))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(UserError) as err:  # the hash no longer matches
        load_checkpoint(path, checkpoint_records(path), label=LABEL)
    assert str(path) in str(err.value)
    _rerecord(path)
    for mmap in (False, True):
        with pytest.raises(UserError, match="corrupt or truncated") as err:
            load_checkpoint(path, checkpoint_records(path), label=LABEL, mmap=mmap)
        text = str(err.value)
        assert LABEL in text and str(path) in text
        assert "weights_only" not in text and "weights only" not in text.lower()


def test_a_checkpoint_that_is_not_ours_is_refused(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"state": {"w": torch.zeros(1)}})
    with pytest.raises(UserError, match=r"not a wbsdesk checkpoint \(no model, config\)"):
        load_checkpoint(path, checkpoint_records(path), label=LABEL)
    save_checkpoint(path, {"model": {"w": 3}, "config": {"arch": "resnet18"}})
    with pytest.raises(UserError, match="not a state dict"):
        load_checkpoint(path, checkpoint_records(path), label=LABEL)


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_a_planted_pickle_is_refused_and_never_runs(tmp_path, writer):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, _payload(1))
    marker = tmp_path / "pwned"
    evil = {"model": {"w": torch.zeros(1)}, "config": {"arch": "resnet18"}, "x": _Evil(marker)}
    if writer == "torch.save":
        torch.save(evil, path)
    else:
        path.write_bytes(pickle.dumps(evil))
    with pytest.raises(UserError, match="not the checkpoint training wrote"):
        load_checkpoint(path, checkpoint_records(path), label=LABEL)
    _rerecord(path)
    with pytest.raises(UserError, match="refused") as err:
        load_checkpoint(path, checkpoint_records(path), label=LABEL)
    assert "can run code" in str(err.value) and "weights_only" not in str(err.value)
    assert not marker.exists(), "the planted pickle's code must not run"


KILL_DURING_SAVE = """
import os, signal, sys
from pathlib import Path
import torch
from wbsdesk.ml.checkpoints import save_checkpoint

path, when = Path(sys.argv[1]), sys.argv[2]
real = os.replace

def replace(src, dst):  # SIGKILL ourselves around the moment the checkpoint is replaced
    if Path(dst).name == "checkpoint.pt" and when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
    if Path(dst).name == "checkpoint.pt" and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)

os.replace = replace
g = torch.Generator().manual_seed(2)
save_checkpoint(path, {"model": {"w": torch.randn(4, 3, generator=g)},
                       "config": {"arch": "resnet18"}, "epoch": 2})
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize(("when", "epoch"), [("before", 1), ("after", 2)])
def test_a_kill_at_any_point_of_a_save_leaves_a_checkpoint_its_record_accepts(tmp_path, when,
                                                                               epoch):
    path = tmp_path / "checkpoint.pt"
    first = save_checkpoint(path, _payload(1))
    proc = subprocess.run([sys.executable, "-c", KILL_DURING_SAVE, str(path), when], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert len(recorded_sha256(path)) == 2 and first in recorded_sha256(path)  # mid-swap
    ckpt, _ = load_checkpoint(path, checkpoint_records(path), label=LABEL)
    assert ckpt["epoch"] == epoch
    assert torch.equal(ckpt["model"]["w"], _payload(epoch)["model"]["w"])
    again = save_checkpoint(path, _payload(3))  # the next save leaves one hash again
    assert recorded_sha256(path) == [again]
