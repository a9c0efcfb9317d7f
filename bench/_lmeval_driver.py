"""Drive lm-evaluation-harness's `local-chat-completions` client against an OpenAI-compatible server.

Run by bench/scheduler.py with the Python of a separate virtual environment that has lm-eval installed
(never the project's own environment). It builds `generate_until` Instances directly from a jsonl file of
{"id", "question", ...} rows (no hub datasets, no task registry), sends them through
LocalChatCompletion.generate_until with num_concurrent=C, and prints one JSON line:
{"elapsed_s", "cpu_s", "requests", "answered", "distinct_answers", "lm_eval_version"}.

    python bench/_lmeval_driver.py --base-url http://127.0.0.1:8001/v1 --concurrency 256 \
        --data items.jsonl --items 20000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import time


def _raise_fd_limit() -> None:
    # Same as in bench/scheduler.py; this script runs in lm-eval's venv and imports nothing from the project.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", required=True, help="server base URL ending in /v1")
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--data", required=True, help="jsonl file with a 'question' field per row")
    parser.add_argument("--items", type=int, required=True, help="use the first N rows")
    parser.add_argument(
        "--repeats", type=int, default=1, help="requests per row, as a task's `repeats: k` makes lm-eval send"
    )
    parser.add_argument("--max-tokens", type=int, default=2048)
    parser.add_argument("--temperature", type=float, default=0.7)
    args = parser.parse_args()

    # The harness side runs without a progress display; do the same here so neither pays for rendering.
    os.environ.setdefault("TQDM_DISABLE", "1")
    logging.disable(logging.WARNING)
    _raise_fd_limit()

    from importlib.metadata import version

    from lm_eval.api.instance import Instance
    from lm_eval.models.api_models import JsonChatStr
    from lm_eval.models.openai_completions import LocalChatCompletion

    with open(args.data, encoding="utf-8") as handle:
        rows = [json.loads(line) for _, line in zip(range(args.items), handle, strict=False)]
    if len(rows) < args.items:
        raise SystemExit(f"{args.data}: asked for {args.items} rows, the file has {len(rows)}")

    gen_kwargs = {
        "until": [],
        "max_gen_toks": args.max_tokens,
        "temperature": args.temperature,
        "do_sample": True,
    }
    # lm-eval's `repeats: k` turns each doc into one Instance whose request is sent k times.
    instances = [
        Instance(
            request_type="generate_until",
            doc=row,
            arguments=(
                JsonChatStr(json.dumps([{"role": "user", "content": row["question"]}])),
                dict(gen_kwargs),
            ),
            idx=index,
            metadata=("bench_synth", index, args.repeats),
        )
        for index, row in enumerate(rows)
    ]
    requests = [instance for instance in instances for _ in range(args.repeats)]  # as lm_eval.evaluator does
    model = LocalChatCompletion(
        base_url=args.base_url.rstrip("/") + "/chat/completions",
        model="loopback",
        num_concurrent=args.concurrency,
        tokenizer_backend=None,
        tokenized_requests=False,
        max_retries=3,
        timeout=600,
    )
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    answers = model.generate_until(requests, disable_tqdm=True)
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    print(
        json.dumps(
            {
                "elapsed_s": elapsed,
                "cpu_s": cpu_s,
                "requests": len(requests),
                "answered": sum(1 for a in answers if isinstance(a, str) and a),
                "distinct_answers": sorted({str(a) for a in answers})[:5],
                "lm_eval_version": version("lm_eval"),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
