"""hftlab.sim: a local OKX v5 exchange (the embedded default venue).

The exchange core (`SimExchange`, pure and synchronous: instruments, simulated order flow, matching,
accounts) lives here; the network side that speaks OKX's WebSocket and REST protocol drives it.
"""
