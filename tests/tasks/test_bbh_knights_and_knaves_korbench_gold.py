"""Gold tests of the logic tasks on the real mirror (every item, --full): the gold answer written the way the
prompt asks a model to write it grades right (>= 99 %), a wrong answer grades wrong (nearly) always.
Failing items are listed in the assertion messages; KOR-Bench's rates are also checked per category."""

from __future__ import annotations

import re
from collections import Counter

import pytest

import graders
from graders.exact import ExactOptions, normalise
from graders.korbench import inner as korbench_inner
from harness.taskset import Task, TaskItem, discover_tasks

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def tasks() -> dict[str, Task]:
    return discover_tasks()


def grade(task: Task, item: TaskItem, response: str) -> graders.GradeResult:
    return graders.grade(task.grade_request(item.gold, response, "stop"))


def rate(task: Task, items: list[TaskItem], responses: list[str]) -> tuple[float, list[str]]:
    failures = []
    for item, response in zip(items, responses, strict=True):
        result = grade(task, item, response)
        if not result.correct:
            failures.append(f"{item.id}: {result.reason} extracted={result.extracted!r} {result.detail}")
    return 1 - len(failures) / len(items), failures


def next_different(items: list[TaskItem], position: int, key, same_group) -> TaskItem:
    """The next item (cyclically) of the same group whose answer differs after normalisation."""
    n = len(items)
    for step in range(1, n):
        other = items[(position + step) % n]
        if same_group(other, items[position]) and key(other) != key(items[position]):
            return other
    raise AssertionError(f"no item with a different answer than {items[position].id}")


# --------------------------------------------------------------------------- BBH


def bbh_response(target: str) -> str:
    return f"Let's think step by step.\nWorking through the question carefully. So the answer is {target}."


def test_bbh_gold_and_wrong(tasks, data_dir):
    task = tasks["bbh"]
    items = task.load_items(data_dir, full=True)
    assert len(items) == 6511
    right, failures = rate(task, items, [bbh_response(i.gold["answer"]) for i in items])
    assert right >= 0.99, f"bbh: {right:.4f} right; failing:\n" + "\n".join(failures[:40])
    options = ExactOptions.model_validate(task.grader_options)

    def key(item: TaskItem) -> str:
        return normalise(item.gold["answer"], options)

    wrong_responses = [
        bbh_response(next_different(items, p, key, lambda a, b: a.meta["part"] == b.meta["part"]).gold["answer"])
        for p in range(len(items))
    ]
    accepted = [i.id for i, r in zip(items, wrong_responses, strict=True) if grade(task, i, r).correct]
    assert len(accepted) <= 0.01 * len(items), f"bbh: wrong answers graded right: {accepted[:40]}"


def test_bbh_letter_targets_accept_bare_letter_and_option_text(tasks, data_dir):
    task = tasks["bbh"]
    item = next(i for i in task.load_items(data_dir) if i.gold["answer"] == "(B)")
    for response in ("So the answer is B.", "So the answer is (B) the second one.", "So the answer is (B)."):
        assert grade(task, item, response).correct, response
    assert not grade(task, item, "So the answer is (C).").correct


def test_bbh_subset_is_40_per_task_with_its_own_exemplars(tasks, data_dir):
    task = tasks["bbh"]
    items = task.load_items(data_dir)
    counts = Counter(i.meta["part"] for i in items)
    assert len(counts) == 27 and set(counts.values()) == {40}
    again = [i.id for i in task.load_items(data_dir)]
    assert again == [i.id for i in items]  # seeded
    by_part = {i.meta["part"]: i for i in items}
    date = by_part["date_understanding"].messages[-1].content
    assert date.startswith("Infer the date from context.\n\nQ: ") and "canary" not in date.lower()
    assert date.count("\nQ: ") == 4 and date.endswith("\nA: Let's think step by step.")
    assert "Infer the date" not in by_part["navigate"].messages[-1].content


# --------------------------------------------------------------------------- Knights and Knaves


def kk_response(roles: dict[str, str]) -> str:
    lines = [f"({n}) {name} is a {role}" for n, (name, role) in enumerate(roles.items(), start=1)]
    return "Suppose the first inhabitant is a knight and follow the statements.\n\nCONCLUSION:\n" + "\n".join(lines)


def test_knights_and_knaves_gold_and_wrong(tasks, data_dir):
    task = tasks["knights_and_knaves"]
    items = task.load_items(data_dir)
    assert len(items) == 700
    right, failures = rate(task, items, [kk_response(i.gold) for i in items])
    assert right >= 0.99, f"knights_and_knaves: {right:.4f} right; failing:\n" + "\n".join(failures[:40])

    def flipped(roles: dict[str, str], who: int) -> dict[str, str]:
        name = list(roles)[who % len(roles)]
        return {**roles, name: "knave" if roles[name] == "knight" else "knight"}

    wrong = [kk_response(flipped(i.gold, n)) for n, i in enumerate(items)]
    accepted = [i.id for i, r in zip(items, wrong, strict=True) if grade(task, i, r).correct]
    assert not accepted, f"knights_and_knaves: one flipped role graded right for {accepted[:40]}"


def test_knights_and_knaves_gold_matches_solution_text(tasks, data_dir):
    task = tasks["knights_and_knaves"]
    for item in task.normalised_items(data_dir):
        stated = dict(re.findall(r"(\w+) is a (knight|knave)", item["solution_text"]))
        assert stated == item["answer"], item["id"]


# --------------------------------------------------------------------------- KOR-Bench


def korbench_same_answer_key(answer: str) -> str:
    return re.sub(r'[\s"\[\]]', "", korbench_inner(answer))


def korbench_model_answer(item: TaskItem) -> str:
    """The gold as a model gives it: one alternative where the gold lists several (puzzle rules 2, 4, 10: "give
    one answer"). puzzle-84's gold, 2+2+3*4=28, is false (16), so it grades wrong, officially too."""
    answer, rule = korbench_inner(item.gold["answer"]).strip(), item.gold["rule_id"]
    if item.gold["category"] == "puzzle" and rule in ("2", "4", "10"):
        answer = {"2": answer.split(","), "4": answer.split(), "10": answer.splitlines()}[rule][0]
    return f"[[{answer}]]"


def korbench_response(answer: str) -> str:
    one_line = " ".join(answer.split())  # what the system line asks for; 23 puzzle answers span several lines
    return f"Applying the rule step by step to the question.\nThe answer is {one_line}."


def test_korbench_gold_and_wrong_per_category(tasks, data_dir):
    task = tasks["korbench"]
    items = task.load_items(data_dir)
    assert len(items) == 1250
    categories = {i.id: i.id.split("-")[0] for i in items}
    rates = {}
    failures_all = []
    for category in ("operation", "logic", "cipher", "puzzle", "counterfactual"):
        group = [i for i in items if categories[i.id] == category]
        assert len(group) == 250
        right, failures = rate(task, group, [korbench_response(korbench_model_answer(i)) for i in group])
        rates[category] = right
        failures_all += failures
    assert min(rates.values()) >= 0.99, f"korbench per-category gold rates {rates}; failing:\n" + "\n".join(failures_all)
    def key(item: TaskItem) -> str:
        return korbench_same_answer_key(item.gold["answer"])

    wrong = [
        korbench_response(next_different(items, p, key, lambda a, b: categories[a.id] == categories[b.id]).gold["answer"])
        for p in range(len(items))
    ]
    accepted = [i.id for i, r in zip(items, wrong, strict=True) if grade(task, i, r).correct]
    assert not accepted, f"korbench: wrong answers graded right: {accepted[:40]}"


def test_korbench_prompt_is_the_official_three_shot_template(tasks, data_dir):
    task = tasks["korbench"]
    items = {i["id"]: i for i in task.normalised_items(data_dir)}
    cipher = items["cipher-1"]
    prompt = cipher["prompt"]
    assert prompt.startswith("You are an intelligent assistant that specializes in encryption and decryption tasks.")
    assert prompt.count("### Question:\n") == 4 and prompt.count("### Answer:\n") == 4
    assert prompt.rstrip().endswith(cipher["question"].rstrip() + "\n\n### Answer:")
    assert prompt.index("### Cipher Rule:") < prompt.index("### Question:")
    rendered = task.render(cipher, [])
    assert rendered.query == cipher["question"] and rendered.messages[-1].content == prompt
    assert "[[" in rendered.messages[0].content  # the system line asks for the final [[...]] answer line
