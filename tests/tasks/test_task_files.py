"""Task files: mistakes are reported with file, field path and line; selection of tasks by name, glob, group."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.taskset import ConfigFileError, Task, discover_tasks, select_tasks

VALID = """
name: demo
category: knowledge
description: a small multiple-choice task for the tests
paper_size: 2
source:
  local:
    files: demo/items.jsonl
    format: jsonl
fields:
  id: qid
  question: text
  answer: key
  choices: options
choices:
  answer_is: label
prompt:
  user: |-
    {question}

    {choices}
generation:
  max_tokens: 64
grader:
  name: choice
  options: {letters: ABCD}
  gold: {answer: answer}
"""


def line_of(text: str, marker: str, occurrence: int = 1) -> int:
    """1-based line number of the n-th line containing marker in the dedented file text."""
    hits = [n for n, line in enumerate(text.lstrip("\n").splitlines(), start=1) if marker in line]
    return hits[occurrence - 1]


def error_of(write_task, text: str, name: str = "demo") -> str:
    path = write_task(name, text)
    with pytest.raises(ConfigFileError) as caught:
        Task.from_file(path)
    message = str(caught.value)
    assert str(path) in message, message
    return message


def test_valid_file_loads(write_task):
    task = Task.from_file(write_task("demo", VALID))
    assert (task.name, task.category, task.grader, task.max_tokens, task.is_code) == (
        "demo",
        "knowledge",
        "choice",
        64,
        False,
    )
    assert len(task.file_hash) == 64


def test_unknown_key_names_field_and_line(write_task):
    text = VALID.replace("  answer_is: label", "  answer_is: label\n  shuffle: true")
    message = error_of(write_task, text)
    assert f":{line_of(text, 'shuffle: true')}: field 'choices.shuffle'" in message
    assert "Extra inputs are not permitted" in message


def test_wrong_type_names_field_and_line(write_task):
    text = VALID.replace("paper_size: 2", "paper_size: many")
    message = error_of(write_task, text)
    assert f":{line_of(text, 'paper_size')}: field 'paper_size'" in message


def test_bad_enum_in_nested_list(write_task):
    text = VALID.replace("    format: jsonl", "    format: xlsx")
    message = error_of(write_task, text)
    assert f":{line_of(text, 'format: xlsx')}: field 'source.local.0.format'" in message


def test_unknown_template_field(write_task):
    text = VALID.replace("    {choices}\n", "    {choice}\n")
    message = error_of(write_task, text)
    assert f":{line_of(text, '{choice}')}: field 'prompt.user'" in message  # the line inside the block
    assert "['choice']" in message and "'choices'" in message


def test_positional_template_field_rejected(write_task):
    text = VALID.replace("    {question}\n", "    {}\n")
    message = error_of(write_task, text)
    assert "field 'prompt.user'" in message and "named fields only" in message


def test_gold_key_must_exist(write_task):
    text = VALID.replace("gold: {answer: answer}", "gold: {answer: solution}")
    message = error_of(write_task, text)
    assert f":{line_of(text, 'gold: {answer: solution}')}: field 'grader.gold.answer'" in message
    assert "'solution'" in message


def test_grader_options_checked_against_the_grader(write_task):
    text = VALID.replace("options: {letters: ABCD}", "options: {letters: abc1}")
    message = error_of(write_task, text)
    assert f":{line_of(text, 'letters: abc1')}: field 'grader.options.letters'" in message


def test_unknown_grader(write_task):
    text = VALID.replace("  name: choice", "  name: vibes")
    message = error_of(write_task, text)
    assert f":{line_of(text, 'name: vibes')}: field 'grader.name'" in message


def test_name_must_match_file(write_task):
    message = error_of(write_task, VALID, name="other")
    assert ":1: field 'name'" in message and "'other'" in message


def test_duplicate_key(write_task):
    text = VALID.replace("paper_size: 2", "paper_size: 2\npaper_size: 3")
    message = error_of(write_task, text)
    assert (
        f":{line_of(text, 'paper_size: 3')}: key 'paper_size' repeats the one on line {line_of(text, 'paper_size: 2')}"
        in message
    )


def test_invalid_yaml(write_task):
    text = VALID.replace("  max_tokens: 64", "  max_tokens: [64")
    message = error_of(write_task, text)
    assert re.search(r":\d+: invalid YAML", message)


def test_preprocess_must_resolve(write_task):
    text = VALID.replace("fields:\n", 'preprocess: "tasks.custom.nowhere:fn"\nfields:\n', 1)
    message = error_of(write_task, text)
    assert (
        f":{line_of(text, 'preprocess:')}: field 'preprocess'" in message
        and "tasks.custom.nowhere" in message
    )


def test_preprocess_reference_shape(write_task):
    text = VALID.replace("fields:\n", 'preprocess: "os:system"\nfields:\n', 1)
    message = error_of(write_task, text)
    assert "field 'preprocess'" in message and "tasks.custom.<module>:<function>" in message


def test_choices_field_needs_choices_block(write_task):
    text = VALID.replace("choices:\n  answer_is: label\n", "")
    message = error_of(write_task, text)
    assert f":{line_of(text, 'choices: options')}: field 'fields.choices'" in message


def test_subset_needs_exactly_one_rule(write_task):
    text = VALID.replace(
        "generation:", "subset: {seed: 1, size: 1, per_group: 1, stratify: part}\ngeneration:"
    )
    message = error_of(write_task, text)
    assert (
        f":{line_of(text, 'subset:')}: field 'subset'" in message
        and "exactly one of size and per_group" in message
    )


def test_all_errors_reported_together(write_task):
    text = VALID.replace("paper_size: 2", "paper_size: -1").replace("max_tokens: 64", "max_tokens: 0")
    message = error_of(write_task, text)
    assert "field 'paper_size'" in message and "field 'generation.max_tokens'" in message


# --------------------------------------------------------------------------- selection


def make_suite(write_task) -> Path:
    for name, ood in [("alpha", False), ("beta", True), ("bbh_dates", False), ("bbh_nav", False)]:
        text = VALID.replace("name: demo", f"name: {name}").replace(
            "paper_size: 2", f"paper_size: 2\nood: {str(ood).lower()}"
        )
        path = write_task(name, text)
    return path.parent


def names(tasks) -> list[str]:
    return [task.name for task in tasks]


def test_discover_finds_every_file(write_task):
    directory = make_suite(write_task)
    assert sorted(discover_tasks(directory)) == ["alpha", "bbh_dates", "bbh_nav", "beta"]


def test_select_groups_names_and_globs(write_task):
    directory = make_suite(write_task)
    assert sorted(names(select_tasks("all", directory))) == ["alpha", "bbh_dates", "bbh_nav"]
    assert names(select_tasks("ood", directory)) == ["beta"]
    assert names(select_tasks("bbh*", directory)) == ["bbh_dates", "bbh_nav"]
    assert names(select_tasks("beta, alpha,bbh_nav", directory)) == ["beta", "alpha", "bbh_nav"]
    assert sorted(names(select_tasks("all,ood", directory))) == ["alpha", "bbh_dates", "bbh_nav", "beta"]
    assert names(select_tasks("alpha,alpha", directory)) == ["alpha"]


def test_select_unknown_name_lists_known(write_task):
    directory = make_suite(write_task)
    with pytest.raises(ValueError) as caught:
        select_tasks("alpha,gamma", directory)
    message = str(caught.value)
    assert "'gamma'" in message and "alpha, bbh_dates, bbh_nav, beta" in message


def test_select_empty_selector(write_task):
    directory = make_suite(write_task)
    with pytest.raises(ValueError, match="empty task selector"):
        select_tasks(" , ", directory)


def test_shipped_task_files_are_valid():
    tasks = discover_tasks()
    mine = {
        "aime",
        "math500",
        "livemathbench",
        "mathbench",
        "arc_challenge",
        "mmlu_pro",
        "gpqa",
        "medqa",
        "finqa",
        "winogrande",
        "brainteaser",
    }
    assert mine <= set(tasks)
    assert {name for name, task in tasks.items() if task.ood} >= {"mathbench", "winogrande", "brainteaser"}
    assert "mathbench" not in names(select_tasks("all")) and "mathbench" in names(select_tasks("ood"))
