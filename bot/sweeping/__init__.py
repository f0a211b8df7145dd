"""Reading AWS into the store: a sweep of every account-region in a bounded pool
(`sweep.py`), and the triage sweep that reads only those Security Hub names (`triage.py`)."""
