"""Threads and devices per training task: explicit, from TRAINING_THREADS and TORCH_DEVICE."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.bots.dataset import Dataset, build_dataset
from core.bots.factory import load_bot, make_bot
from core.bots.sequence import SequenceBot
from core.bots.xgb_agent import XGBAgent
from core.errors import BadInput
from core.runtime import beside_pages_env
from core.settings import Settings
from tests.bots.helpers import SMALL, hindsight_frame, random_walk
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    bars = random_walk(700, 5)
    return build_dataset(bars, hindsight_frame(bars, horizon=5))


def test_training_threads_come_from_the_setting_and_its_older_name(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRAINING_THREADS", raising=False)  # the suite's workers set it
    assert make_settings(home).training_threads == 2
    monkeypatch.setenv("TORCH_THREADS", "3")
    assert make_settings(home).training_threads == 3
    monkeypatch.setenv("TRAINING_THREADS", "1")
    assert make_settings(home).training_threads == 1


def test_background_jobs_leave_the_pages_a_core_unless_threads_are_set(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRAINING_THREADS", raising=False)  # the suite's workers set it
    monkeypatch.delenv("TORCH_THREADS", raising=False)
    default = make_settings(home)
    assert beside_pages_env(default, cores=2) == {"TRAINING_THREADS": "1"}
    assert beside_pages_env(default, cores=1) == {"TRAINING_THREADS": "1"}
    assert beside_pages_env(default, cores=8) == {"TRAINING_THREADS": "2"}  # the setting's default
    monkeypatch.setenv("TRAINING_THREADS", "2")
    assert beside_pages_env(make_settings(home), cores=2) == {}  # configured: the job reads it as set


def test_every_task_sets_pytorch_and_xgboost_threads_explicitly(dataset: Dataset, settings: Settings) -> None:
    three = settings.model_copy(update={"training_threads": 3})
    xgb = make_bot("xgb_agent", three, **SMALL["xgb_agent"])
    assert isinstance(xgb, XGBAgent) and xgb._booster_params()["nthread"] == 3
    torch.set_num_threads(1)  # what OMP_NUM_THREADS=1 (Dask's nanny) leaves a worker with
    make_bot("lstm_bot", three, **SMALL["lstm_bot"]).fit(dataset)
    assert torch.get_num_threads() == 3


def test_sequence_bots_are_deterministic_on_cpu_and_load_anywhere(
    dataset: Dataset, settings: Settings
) -> None:
    auto = settings.model_copy(update={"torch_device": "auto"})
    first = make_bot("lstm_bot", auto, **SMALL["lstm_bot"]).fit(dataset)
    second = make_bot("lstm_bot", auto, **SMALL["lstm_bot"]).fit(dataset)
    assert isinstance(first, SequenceBot)
    assert first.torch_device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    if first.torch_device.type == "cpu":
        a, b = first.predict(dataset.inputs), second.predict(dataset.inputs)
        assert np.array_equal(a.expected_return, b.expected_return)  # bit for bit
    on_cpu = load_bot(first.to_files(), settings.model_copy(update={"torch_device": "cpu"}))
    assert np.allclose(
        on_cpu.predict(dataset.inputs).expected_return, first.predict(dataset.inputs).expected_return
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_cuda_without_a_gpu_says_what_to_do(dataset: Dataset, settings: Settings) -> None:
    cuda = settings.model_copy(update={"torch_device": "cuda"})
    with pytest.raises(BadInput, match=r"TORCH_DEVICE=cuda.*sees no CUDA device.*TORCH_DEVICE=auto or cpu"):
        make_bot("transformer_bot", cuda, **SMALL["transformer_bot"]).fit(dataset)
