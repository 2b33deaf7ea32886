"""``siyu rehearse``: a sale rehearsal (大促压测) built on Locust.

- ``locustfile.py``: the shoppers (run by Locust in its own process, gevent and all)
- ``runner.py``: the command: refuses a live store, runs Locust, checks the database
- ``report.py``: the report (pure: Locust's output + database counts → JSON), stored
  reports for the console
"""
