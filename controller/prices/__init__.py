"""Day-ahead electricity prices: parsers for each source, fetching over HTTP, and the user's tariff on top.

Parsers are pure (bytes in, :class:`~controller.prices.model.MarketPrice` list out); :mod:`.fetch` is the only
module that touches the network; :mod:`.tariff` turns market prices into what the household pays and earns.
"""
