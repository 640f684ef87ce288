"""The front end: the DSL traces user code into the kernel IR; the numpy reference is the oracle."""
