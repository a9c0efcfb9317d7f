"""Pool-file validation and the exact `vllm serve` command lines (no process is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.serving.vllm_pool import LaunchSpec, build_vllm_command, load_launch_plan
from harness.yaml_model import ConfigFileError


def write_pool(tmp_path: Path, models: list[dict]) -> Path:
    path = tmp_path / "pool.yaml"
    path.write_text(yaml.safe_dump({"models": models}, sort_keys=False))
    return path


def test_minimal_command_serves_the_served_model_id() -> None:
    spec = LaunchSpec(gpus=[0], port=8000)
    assert build_vllm_command(spec, served_model_id="Qwen/Qwen2.5-7B-Instruct", port=8000) == [
        "vllm", "serve", "Qwen/Qwen2.5-7B-Instruct",
        "--host", "127.0.0.1",
        "--port", "8000",
        "--served-model-name", "Qwen/Qwen2.5-7B-Instruct",
        "--tensor-parallel-size", "1",
    ]  # fmt: skip


def test_full_command_keeps_extra_args_last_and_in_order() -> None:
    spec = LaunchSpec(
        model="/models/llama-70b",
        gpus=[4, 5, 6, 7],
        port=8010,
        tensor_parallel=4,
        max_model_len=8192,
        dtype="bfloat16",
        gpu_memory_utilization=0.85,
        host="0.0.0.0",
        extra_args=["--enable-prefix-caching", "--seed", "0"],
    )
    assert build_vllm_command(spec, served_model_id="llama-70b", port=8010, executable="/opt/bin/vllm") == [
        "/opt/bin/vllm", "serve", "/models/llama-70b",
        "--host", "0.0.0.0",
        "--port", "8010",
        "--served-model-name", "llama-70b",
        "--tensor-parallel-size", "4",
        "--max-model-len", "8192",
        "--dtype", "bfloat16",
        "--gpu-memory-utilization", "0.85",
        "--enable-prefix-caching", "--seed", "0",
    ]  # fmt: skip
    assert spec.replica_count == 1 and spec.connect_host == "127.0.0.1"


def test_gpus_split_into_replicas_on_consecutive_ports(tmp_path: Path) -> None:
    pool = write_pool(
        tmp_path,
        [
            {"name": "qwen7b", "served_model_id": "Qwen/Qwen2.5-7B-Instruct",
             "launch": {"gpus": [3, 1, 0, 2], "port": 8000, "tensor_parallel": 2}},
            {"name": "remote", "base_urls": ["http://other:9000/v1"]},
            {"name": "small", "launch": {"model": "/m/small", "gpus": [5], "port": 8100}},
        ],
    )  # fmt: skip
    plan = load_launch_plan(pool)
    layout = [(r.model_name, r.replica, r.gpus, r.port, r.base_url) for r in plan.replicas]
    assert layout == [
        ("qwen7b", 0, [3, 1], 8000, "http://127.0.0.1:8000/v1"),
        ("qwen7b", 1, [0, 2], 8001, "http://127.0.0.1:8001/v1"),
        ("small", 0, [5], 8100, "http://127.0.0.1:8100/v1"),
    ]
    assert plan.replicas[1].argv[plan.replicas[1].argv.index("--tensor-parallel-size") + 1] == "2"
    assert plan.replicas[2].argv[:3] == ["vllm", "serve", "/m/small"]
    assert plan.replicas[2].served_model_id == "small"

    document = plan.endpoints_document()
    assert document["models"] == [
        {"name": "qwen7b", "served_model_id": "Qwen/Qwen2.5-7B-Instruct",
         "base_urls": ["http://127.0.0.1:8000/v1", "http://127.0.0.1:8001/v1"]},
        {"name": "remote", "base_urls": ["http://other:9000/v1"]},
        {"name": "small", "served_model_id": "small", "base_urls": ["http://127.0.0.1:8100/v1"]},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("models", "expected"),
    [
        pytest.param(
            [{"name": "a", "launch": {"gpus": [0, 1, 2], "port": 8000, "tensor_parallel": 2}}],
            r"pool\.yaml:\d+: field 'models\.0\.launch': .*tensor_parallel=2 must divide the number of gpus \(3\)",
            id="tp-does-not-divide",
        ),
        pytest.param(
            [{"name": "a", "launch": {"gpus": [0], "port": 8000}},
             {"name": "b", "launch": {"gpus": [1], "port": 8000}}],
            r"pool\.yaml:\d+: field 'models': .*port 8000 is used by both 'a' and 'b'",
            id="same-port",
        ),
        pytest.param(
            [{"name": "a", "launch": {"gpus": [0, 1], "port": 8000}},
             {"name": "b", "launch": {"gpus": [2], "port": 8001}}],
            r"port 8001 is used by both 'a' and 'b'",
            id="replica-port-overlap",
        ),
        pytest.param(
            [{"name": "a", "launch": {"gpus": [0, 1], "port": 8000, "tensor_parallel": 2}},
             {"name": "b", "launch": {"gpus": [1], "port": 9000}}],
            r"GPU 1 is given to both 'a' and 'b'",
            id="gpu-shared-between-models",
        ),
        pytest.param(
            [{"name": "a", "launch": {"gpus": [2, 2], "port": 8000}}],
            r"field 'models\.0\.launch\.gpus': .*GPU 2 is listed twice",
            id="gpu-twice-in-one-model",
        ),
        pytest.param(
            [{"name": "a", "launch": {"gpus": [0], "port": 8000, "dtype": "fp8"}}],
            r"field 'models\.0\.launch\.dtype'",
            id="bad-dtype",
        ),
        pytest.param(
            [{"name": "a", "launch": {"gpus": [0], "port": 8000, "tensor_parallelism": 2}}],
            r"field 'models\.0\.launch\.tensor_parallelism': Extra inputs are not permitted",
            id="misspelt-field",
        ),
        pytest.param(
            [{"name": "a", "launch": {"gpus": [], "port": 8000}}],
            r"field 'models\.0\.launch\.gpus'",
            id="no-gpus",
        ),
        pytest.param(
            [{"name": "a", "base_urls": ["http://h:1/v1"]}],
            r"pool\.yaml: no model has a `launch:` block",
            id="nothing-to-launch",
        ),
    ],
)  # fmt: skip
def test_bad_pool_files_get_clear_errors(tmp_path: Path, models: list[dict], expected: str) -> None:
    with pytest.raises(ConfigFileError, match=expected):
        load_launch_plan(write_pool(tmp_path, models))


def test_error_points_at_the_line_of_the_bad_field(tmp_path: Path) -> None:
    pool = tmp_path / "pool.yaml"
    pool.write_text("models:\n  - name: a\n    launch:\n      gpus: [0]\n      port: 99999\n")
    with pytest.raises(ConfigFileError, match=rf"{pool}:5: field 'models\.0\.launch\.port'"):
        load_launch_plan(pool)
