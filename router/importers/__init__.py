"""Public per-query results tables into a results store (``harness route import --format ...``).

Imported rows carry a score but no response and usually no extracted answer, so the evaluator
treats the score as the expected correctness of that model on that item (see router/voting.py).
Formats: ``routerdc``, ``long`` (CSV/JSONL/JSON rows), ``routerbench`` (wide or raw long table),
``llmrouter`` (routing data rows in llmrouter_rows.py, or train.json/test.json + query file),
``llmrouterbench`` (LLMRouterBench / OpenRouterBench result files with tokens and cost, and
Avengers-Pro JSONL records in avengerspro.py).
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
