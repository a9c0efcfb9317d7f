"""Public per-query results tables into a results store (``harness route import --format ...``).

Imported rows carry a score but no response and usually no extracted answer, so the evaluator
treats the score as the expected correctness of that model on that item (see router/voting.py).
Formats: ``routerdc``, ``long`` (one row per query and model: CSV/TSV/JSONL/JSON/Parquet/Arrow),
``wide`` (one row per query, a score column per model), ``embedllm`` (EmbedLLM's correctness CSVs), ``routereval`` (RouterEval's router_dataset pickles),
``mixinstruct`` (LLM-Blender's candidates with reference-similarity scores, thresholded),
``graphrouter`` (GraphRouter's router_data.csv), ``routerarena`` (cached_results/<model>.jsonl), ``routerbench`` (wide or raw long table),
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
from router.importers.detect import detect_format
from router.importers.embedllm import import_embedllm
from router.importers.graphrouter import import_graphrouter
from router.importers.llmrouter import import_llmrouter
from router.importers.llmrouterbench import import_llmrouterbench
from router.importers.long import import_long
from router.importers.mixinstruct import import_mixinstruct
from router.importers.routerarena import import_routerarena
from router.importers.routerbench import import_routerbench
from router.importers.routerdc import detect_score_kind, import_routerdc
from router.importers.routereval import import_routereval
from router.importers.tables import parse_column_map
from router.importers.wide import import_wide

FORMATS = (
    "routerdc",
    "long",
    "wide",
    "embedllm",
    "routereval",
    "mixinstruct",
    "graphrouter",
    "routerarena",
    "routerbench",
    "llmrouter",
    "llmrouterbench",
)  # router/cli.py lists them again (it must not import the importers to build its parser): a test compares

__all__ = [
    "FORMATS",
    "KNOWN_CATEGORIES",
    "ImportFormatError",
    "ImportSummary",
    "category_of",
    "detect_format",
    "detect_score_kind",
    "import_embedllm",
    "import_graphrouter",
    "import_llmrouter",
    "import_llmrouterbench",
    "import_long",
    "import_mixinstruct",
    "import_routerarena",
    "import_routerbench",
    "import_routerdc",
    "import_routereval",
    "import_wide",
    "parse_column_map",
    "prompt_hash",
]
