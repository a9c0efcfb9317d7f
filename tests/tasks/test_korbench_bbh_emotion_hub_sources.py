"""The hub sources that read official files through the `datasets` json/csv/text builders (KOR-Bench, BBH's
few-shot exemplars, EmoryNLP, MELD, DailyDialog) are checked offline: each URL is swapped for the mirror's copy
of the same file and loaded by the real `datasets` builder, and the items must equal those of the local source.
The swap stands in for the network only (the hub is unreachable here). Hub ids that are not plain files
(lukaemon/bbh, openai_humaneval ...) cannot be checked this way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import harness.task_data
import tasks.custom.korbench
from harness.task_spec import HubPart
from harness.taskset import discover_tasks

pytestmark = pytest.mark.realdata

REAL_LOAD = harness.task_data.load_hub_part
URL_TO_MIRROR = [  # official URL tail -> the mirror's copy
    (r"/KOR-Bench/[0-9a-f]+/(data/\w+/sample\.jsonl)$", r"korbench/\1"),
    (r"/cot-prompts/(\w+\.txt)$", r"bbh/cot-prompts/\1"),
    (r"/json/(emotion-detection-tst\.json)$", r"emorynlp/\1"),
    (r"/MELD/(test_sent_emo\.csv)$", r"meld/\1"),
    (r"/dailydialog/(test\.json)$", r"dailydialog/\1"),
]


def mirror_path(url: str, data_dir: Path) -> str:
    for pattern, local in URL_TO_MIRROR:
        match = re.search(pattern, url)
        if match:
            return str(data_dir / match.expand(local))
    raise AssertionError(f"no mirror copy known for {url}")


@pytest.fixture
def offline_hub(monkeypatch, tmp_path, data_dir):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")

    def load_from_mirror(part: HubPart) -> list[dict]:
        assert isinstance(part.data_files, str), part
        return REAL_LOAD(part.model_copy(update={"data_files": mirror_path(part.data_files, data_dir)}))

    monkeypatch.setattr(harness.task_data, "load_hub_part", load_from_mirror)
    monkeypatch.setattr(tasks.custom.korbench, "OFFICIAL_RAW", f"file://{data_dir / 'korbench'}")


@pytest.mark.parametrize("name", ["emorynlp", "meld", "dailydialog", "korbench"])
def test_hub_items_equal_local_items(name, data_dir, offline_hub):
    task = discover_tasks()[name]
    local = task.normalised_items(data_dir)
    hub = task.normalised_items(None)  # no data dir: the hub source (and, for korbench, the side files by URL)
    assert len(hub) == len(local)
    assert hub == local


def test_bbh_exemplars_through_the_text_builder(data_dir, offline_hub):
    task = discover_tasks()["bbh"]
    local = task.exemplars(data_dir)
    hub = task.exemplars(None)
    assert len(local) == 27 and hub == local
