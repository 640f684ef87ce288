"""MLIR text in generic op form: a small IR and its parser, shared by the C++ translator and the simulator."""
