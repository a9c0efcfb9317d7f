"""The sbatch scripts serve-pool and submit generate (no Slurm needed: nothing is submitted)."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.cli import main
from harness.serving.launchers.slurm import SlurmOptions, replica_script
from harness.serving.vllm_pool import load_launch_plan


def _pool(tmp_path: Path, launch: dict) -> Path:
    pool = tmp_path / "pool.yaml"
    pool.write_text(
        yaml.safe_dump({"models": [{"name": "llama-70b", "served_model_id": "meta/L70", "launch": launch}]})
    )
    return pool


def test_a_multi_node_replica_starts_ray_in_its_allocation_and_runs_vllm_on_it(tmp_path):
    launch = {"gpus": list(range(8)), "tensor_parallel": 8, "nodes": 2, "port": 8000, "host": "0.0.0.0",
              "max_model_len": 8192, "modules": ["cuda/12.4", "python/3.11"], "env": {"HF_HOME": "/scratch/hf cache"}}  # fmt: skip
    (replica,) = load_launch_plan(_pool(tmp_path, launch)).replicas
    script = replica_script(
        replica, SlurmOptions(partition="gpu", time="12:00:00", account="lab"), log_pattern=Path("/l/%j.log")
    )
    lines = script.splitlines()
    for expected in ("#SBATCH --nodes=2", "#SBATCH --gres=gpu:8", "#SBATCH --partition=gpu", "#SBATCH --time=12:00:00",
                     "#SBATCH --account=lab", "module load cuda/12.4 python/3.11", "export HF_HOME='/scratch/hf cache'"):  # fmt: skip
        assert expected in lines, script
    assert "ray start --head --port=6379 --num-gpus=8 --block &" in lines
    assert any(
        line.startswith("srun --nodes=1 --ntasks=1 --exclude=") and "ray start --address=" in line
        for line in lines
    )
    vllm = lines[-1]
    assert vllm.startswith("exec vllm serve meta/L70 --host 0.0.0.0 --port 8000")
    assert "--tensor-parallel-size 8" in vllm and "--max-model-len 8192" in vllm
    assert vllm.endswith("--pipeline-parallel-size 2 --distributed-executor-backend ray")


def test_submit_dry_run_serves_the_pool_inside_each_array_task(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pool = _pool(tmp_path, {"gpus": [0, 1, 2, 3], "tensor_parallel": 2, "port": 8000})
    code = main(["submit", "--tasks", "all", "--models", str(pool), "--samples", "10", "--run", "big",
                 "--shards", "16", "--launcher", "slurm", "--partition", "gpu", "--dry-run", "--max-parallel", "4"])  # fmt: skip
    assert code == 0
    script = capsys.readouterr().out
    assert (tmp_path / "runs" / "big" / "shards" / "array-16.sbatch").read_text() in script
    assert "#SBATCH --array=0-15%4" in script and "#SBATCH --gres=gpu:4" in script
    assert f'serve-pool {pool} --endpoints-out "$endpoints" --port-offset "$port_offset" &' in script
    assert "port_offset=$(( SLURM_ARRAY_TASK_ID % 1000 * 2 ))" in script  # 2 replicas: ports 8000-8001
    eval_line = script.strip().splitlines()[-1]
    assert ' eval --samples 10 --run big --shard "$SLURM_ARRAY_TASK_ID/16" --models "$endpoints"' in eval_line


def test_submit_needs_slurm_and_a_run_name(tmp_path, capsys):
    assert main(["submit", "--model", "m=http://h:1/v1", "--shards", "2", "--launcher", "slurm"]) == 2
    assert "submit needs --run NAME" in capsys.readouterr().err
    assert main(["submit", "--model", "m=http://h:1/v1", "--shards", "2", "--run", "r"]) == 2
    assert "add --launcher slurm" in capsys.readouterr().err
