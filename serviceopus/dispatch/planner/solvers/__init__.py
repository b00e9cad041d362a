"""Adapters from the numeric `Instance` to one solver each. Every adapter returns routes as orders of job
indices per vehicle; times are computed and checked by `planner.timing`, never taken from a solver."""
