"""The use cases wired to this process's settings, store, AWS and clock: the adapters of
bot/aws/ plugged into the ports of bot/app/, built once (`Context`), and the one place that
decides when the Security Hub sync runs (`findings.py`)."""
