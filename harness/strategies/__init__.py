"""Online generation strategies evaluated like models: Mixture-of-Agents (and its per-task oracle),
Symbolic-MoE, an LLM Router. A pool entry with a `strategy:` block (and no base_urls) is one."""
