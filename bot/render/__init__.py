"""Pure renderings for the terminal and files: text (`text.py`), JSON documents, CSV, the
audit log, and the JSON of `health` and `history`."""
