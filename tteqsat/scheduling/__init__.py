"""Scheduling: the Schedule data model (model) and the algorithms that build it: loops split at folds,
DST passes (sections), straight-line parts (frames), the whole kernel (build)."""
