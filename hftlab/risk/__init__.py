"""Risk: pure pre-trade checks -> typed denials (`checks`), the trading state and its breakers
(`state`: ACTIVE / REDUCING / HALTED, persisted), and the RiskEngine (`engine`), the only maker of
ApprovedOrders. risk/ and execution/ never import each other: the live runner calls one, then the other.
"""
