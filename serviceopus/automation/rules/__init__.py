"""Workflow rules: what a rule may say (spec.py), how conditions are read (conditions.py), what actions
do (actions.py), running rules on events (engine.py) and finding time-based events (scan.py)."""
