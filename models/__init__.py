"""Domain types, cost models and the exact evaluator (pure Python + numpy)."""
