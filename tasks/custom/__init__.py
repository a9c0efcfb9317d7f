"""Preprocess functions for task files whose rows a field mapping cannot express.

Each function is referenced from a task file as ``preprocess: "tasks.custom.<module>:<function>"`` and is
called once per source part as ``fn(rows: list[dict], ctx: harness.task_data.PreprocessContext) -> list[dict]``.
It returns rows that the task's ``fields`` mapping then reads (so it may emit ready-made keys such as
``question`` and ``answer``).
"""
