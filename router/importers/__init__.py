"""Public per-query results tables into a results store (``harness route import --format ...``).

Imported rows carry a score but no response and usually no extracted answer, so the evaluator
treats the score as the expected correctness of that model on that item (see router/voting.py).
Formats, one module each: ``routerdc``, ``long`` (CSV/JSONL rows), ``routerbench`` (wide table),
``llmrouter`` (train.json/test.json + query file), ``llmrouterbench`` (LLMRouterBench /
Avengers-Pro result records with tokens and cost).
"""

from router.importers.common import (
    KNOWN_CATEGORIES,
    ImportFormatError,
    ImportSummary,
    category_of,
    prompt_hash,
)
from router.importers.llmrouter import import_llmrouter
from router.importers.llmrouterbench import import_llmrouterbench
from router.importers.long import import_long
from router.importers.routerbench import import_routerbench
from router.importers.routerdc import detect_score_kind, import_routerdc

FORMATS = ("routerdc", "long", "routerbench", "llmrouter", "llmrouterbench")

__all__ = [
    "FORMATS",
    "KNOWN_CATEGORIES",
    "ImportFormatError",
    "ImportSummary",
    "category_of",
    "detect_score_kind",
    "import_llmrouter",
    "import_llmrouterbench",
    "import_long",
    "import_routerbench",
    "import_routerdc",
    "prompt_hash",
]
