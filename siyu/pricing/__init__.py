"""The pricing engine: info.py (what it reads and returns), quote.py (pure), fetch.py (the only I/O)."""
