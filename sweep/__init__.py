"""The design-space sweep: ``store`` (results in SQLite, keyed by content hash) and ``pareto`` (fronts
and bound-based pruning). Both are pure: standard library and numpy only."""
