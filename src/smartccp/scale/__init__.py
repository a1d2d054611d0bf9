"""The scale day (issue #18): a market the size of a real one on the local anvil, driven through
raw transactions in bulk. :mod:`.raw` sends and mines in waves, :mod:`.market` builds the
market, :mod:`.flow` turns the seeded simulator's flow into signed orders batched through the
OrderRelay, :mod:`.day` runs the day's phases and writes ``reports/scale.json``, :mod:`.chart`
draws how costs grew with size.
"""
