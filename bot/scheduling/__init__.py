"""What `serve` does on its own: the jobs (`runner.py`) and their APScheduler triggers
(`scheduler.py`)."""
