"""Where `harness serve-pool` runs the servers of a launch plan: local processes, or Slurm jobs.

Each launcher implements `Launcher` (launchers/base.py); `serve_plan` (launchers/serve.py) drives any of them.
"""
