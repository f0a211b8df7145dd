"""Running in production: what /healthz checks (`liveness.py`), /healthz and /metrics served
(`probes.py`), the counters (`metrics.py`) and the gauges read from the store (`gauges.py`)."""
