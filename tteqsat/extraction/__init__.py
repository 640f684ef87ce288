"""Extraction: the hardware program (program), greedy and exact (ILP) extractors, the unfused baseline."""
