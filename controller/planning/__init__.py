"""The planner: forecasts from the site's own log, a linear program over day-ahead prices, and a schedule.

Pure modules (:mod:`.model`, :mod:`.forecast`, :mod:`.solver`, :mod:`.to_schedule`, :mod:`.execute`) take
data and return data; :mod:`.backtest` and the ``zsm plan`` command read files.
"""
