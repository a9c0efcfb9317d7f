"""The Avengers router as a live OpenAI-compatible endpoint (`python -m harness serve-router`).

Per request: recover the router query from the prompt (:mod:`.prompts`), embed and route it
(:mod:`.routing`), draw samples from the chosen model(s) through the harness' client
(:mod:`.members`), vote with the graders' extraction and equivalence (:mod:`.answers`,
:mod:`.voting`) and answer as a normal ChatCompletion with an ``avengers`` object (:mod:`.server`).
The package import stays light (the CLI registers its subcommand from :mod:`.cli`).
"""
