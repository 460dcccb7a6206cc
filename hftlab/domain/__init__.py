"""Venue-neutral types with no I/O: what every layer above the venue adapters speaks.

Market data (`market`: Bar, TopOfBook), reference data (`instruments`: InstrumentSpec) and, for
trading, orders and fills (`orders`). `okx/` and `sim/` convert their wire records into these at
their edge; nothing here knows an OKX field name.
"""
