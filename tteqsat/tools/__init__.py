"""Tools over the pipeline: explanations, rule statistics, reports, sweeps, progress display."""
