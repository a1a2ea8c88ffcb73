"""Background work on arq: the worker settings and the jobs, each calling its domain's service."""
