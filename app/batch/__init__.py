"""Score a whole dataset: pair files, score each case (optionally in parallel), write CSV/JSON/PDF summaries."""

from app.batch.run import EXIT_CASES_FAILED, BatchOptions, run_batch

__all__ = ["EXIT_CASES_FAILED", "BatchOptions", "run_batch"]
