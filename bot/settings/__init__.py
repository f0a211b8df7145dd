"""Settings: the environment read and checked once (`config.py`, the only reader of
os.environ), the value checks it shares (`values.py`), and SSM3_ROUTES_FILE (`routes_file.py`)."""
