"""OKX v5 error codes and messages as the venue sends them, and the channel map (which URL serves what).

This module is the simulator's one message table: every (code, message) pair any endpoint answers
with (REST or WebSocket, single or batch) is written here once, so the same code always comes with
the same text. Codes are strings on the wire (`"code":"60012"`). Messages follow OKX's wording as
the venue sends it where that is known (captured answers, client issue reports), else its REST
error-code table, so that clients matching on text behave the same. `{0}`, `{1}` are filled per
answer by `fill`.
"""

from __future__ import annotations

import re

Answer = tuple[str, str]  # (code, message)


def fill(entry: Answer, *args: object) -> Answer:
    """A templated entry with its blanks filled (`fill(PRICE_LIMIT, "105", "95")`)."""
    return entry[0], entry[1].format(*args)


# --- WebSocket (general class) ---------------------------------------------------------------
WS_INVALID_TIMESTAMP = ("60004", "Invalid timestamp")
WS_INVALID_APIKEY = ("60005", "Invalid apiKey")
WS_TS_EXPIRED = ("60006", "Timestamp request expired")
WS_INVALID_SIGN = ("60007", "Invalid sign")
WS_LOGIN_FAILED = ("60009", "Login failed.")
WS_PLEASE_LOGIN = ("60011", "Please log in")
WS_INVALID_REQUEST = ("60012", "Invalid request: {0}")  # {0}: the request as received
WS_INVALID_ARGS = ("60013", "Invalid args")
WS_WRONG_CHANNEL = ("60018", "Wrong URL or {0} doesn't exist. "
                             "Please use the correct URL, channel and parameters referring to API document.")
WS_INVALID_OP = ("60019", "Invalid op: {0}")
WS_WRONG_PASSPHRASE = ("60024", "Wrong passphrase")
WS_EMPTY_PARAM = ("60027", "Parameter {0} can not be empty.")
WS_OP_WRONG_URL = ("60028", "The current operation is not supported by this URL. "
                            "Please use the correct WebSocket URL for the operation.")
WS_REPEATED_LOGIN = ("60031", "The WebSocket connection is already logged in. "
                              "Multiple or repeated logins are not allowed.")
WS_ULY_UNSUPPORTED = ("64000", "'uly' is no longer supported. Please use 'instFamily' instead.")
WS_MIGRATED_TO_BUSINESS = (
    "64001",
    "This channel has been migrated to the '/business' URL. Please subscribe using the new URL. More details can "
    "refer to: https://www.okx.com/help-center/changes-to-v5-api-websocket-subscription-parameter-and-url",
)
WS_NOT_ON_BUSINESS = ("64002", "This channel is not supported by \"business\" URL. Please use \"public\" URL.")
WS_FEE_TIER_TOO_LOW = ("64003", "Your trading fee tier doesn't meet the requirement to access this channel")
WS_INTERNAL_ERROR = ("64007", "Operation {0} failed due to WebSocket internal error. Please try again later.")
WS_NOTICE_UPGRADE = ("64008", "The connection will soon be closed for a service upgrade. Please reconnect.")

CLOSE_LOGIN_FAILED = 4001
CLOSE_IDLE = (4004, "No data received in 30s.")
CLOSE_BUFFER_FULL = (4005, "Buffer full, cannot continue sending data.")
CLOSE_ABNORMAL = (4006, "Abnormal disconnection.")
CLOSE_UPGRADE = (1001, "Service upgrade.")  # OKX documents no code for this close; 1001 = going away
CLOSE_SHUTDOWN = (1001, "Server shutting down.")  # the simulator stopping, not OKX

# --- REST / trading ----------------------------------------------------------------------------
OK = ("0", "")
BATCH_ALL_FAILED = ("1", "All operations failed")  # top-level code of an op whose every item failed
BATCH_PARTIAL = ("2", "Bulk operation partially succeeded.")
REST_SERVICE_UNAVAILABLE = ("50001", "Service temporarily unavailable. Please try again later.")
REST_JSON_ERROR = ("50002", "JSON syntax error")
# "does not mean that the request was successful or failed": the request may well have executed.
REQUEST_TIMEOUT = ("50004", "API endpoint request timeout. (does not mean that the request was successful or failed, "
                            "please check the request result).")
RATE_LIMIT = ("50011", "Rate limit reached. Please refer to API documentation and throttle requests accordingly.")
# Refusing at the REST gateway with HTTP 429, OKX words 50011 differently: its error table lists the
# code once per HTTP status. The only code the simulator words by status.
RATE_LIMIT_429 = (RATE_LIMIT[0], "Too Many Requests")
REST_EMPTY_PARAM = ("50014", "Parameter {0} can not be empty.")
REST_EITHER_PARAM = ("50015", "Either parameter {0} or {1} is required.")
ORDER_EXPIRED = ("50037", "Order expired.")  # arrived after its expTime: not executed
SUB_ACCOUNT_RATE_LIMIT = ("50061", "You've reached the maximum order rate limit for this account.")
REST_TS_EXPIRED = ("50102", "Timestamp request expired.")
REST_NO_KEY = ("50103", 'Request header "OK-ACCESS-KEY" cannot be empty.')
REST_NO_PASSPHRASE = ("50104", 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.')
REST_BAD_PASSPHRASE = ("50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.')
REST_NO_SIGN = ("50106", 'Request header "OK-ACCESS-SIGN" cannot be empty.')
REST_NO_TIMESTAMP = ("50107", 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.')
REST_INVALID_KEY = ("50111", "Invalid OK-ACCESS-KEY.")
REST_INVALID_TIMESTAMP = ("50112", "Invalid OK-ACCESS-TIMESTAMP.")
REST_INVALID_SIGN = ("50113", "Invalid Sign.")
PARAM_ERROR = ("51000", "Parameter {0} error")
# Live OKX answers with the comma (as clients record its answers); the REST docs' table omits it.
NO_INSTRUMENT = ("51001", "Instrument ID, Instrument ID code, or Spread ID doesn't exist.")
ORDER_ID_REQUIRED = ("51003", "Either client order ID or order ID is required.")
PRICE_LIMIT = ("51006", "Order price is not within the price limit (max buy price: {0} , min sell price: {1} )")
INSUFFICIENT_BALANCE = ("51008", "Order failed. Insufficient {0} balance in account")
DUPLICATE_CL_ORD_ID = ("51016", "Client order ID already exists.")
BELOW_MIN_SZ = ("51020", "Your order should meet or exceed the minimum order amount.")
NOT_LOT_MULTIPLE = ("51121", "Order quantity must be a multiple of the lot size.")
CAA_TAG_LIMIT = ("51071", "You've reached the maximum limit for tag level cancel all after timers.")
PENDING_LIMIT = ("51174", "Order failed, number of pending orders for {0} exceed the limit of {1}.")
NO_POSITION_TO_REDUCE = ("51169", "Order failed because you don't have any positions in this direction for this "
                                  "contract to reduce or close.")
CANCEL_FAILED = ("51400", "Order cancellation failed as the order has been filled, canceled or does not exist.")
AMEND_ORDER_DONE = ("51503", "Your order has already been filled or canceled.")
AMEND_NOT_POST_ONLY = ("51511", "Modification failed as the order price did not meet the requirement for Post Only.")
AMEND_IN_PROGRESS = ("51513", "Number of modification requests that are currently in progress for an order cannot "
                              "exceed 3 times.")
# Live OKX answers without the full stop (as clients record its answers); the REST docs' table has one.
ORDER_NOT_EXIST = ("51603", "Order does not exist")


def empty_param(name: str, ws: bool = False) -> Answer:
    return fill(WS_EMPTY_PARAM if ws else REST_EMPTY_PARAM, name)


def param_error(name: str) -> Answer:
    return fill(PARAM_ERROR, name)


_SECRETS = r'"(?:apiKey|passphrase|sign|secretKey|api_secret|secret)"\s*:\s*'
_SECRET_STRING = re.compile(f'({_SECRETS})"(?:[^"\\\\]|\\\\.)*"')
_SECRET_LEFT = re.compile(f'{_SECRETS}(?!"\\*\\*\\*")')


def invalid_request(text: str) -> Answer:
    """OKX echoes the request as received; the simulator blanks the credentials of a login first (a
    client's recorder keeps every control frame: a refused login must not write its key to disk).
    A credential that is not a complete string (a cut frame, a number) ends the echo there."""
    text = _SECRET_STRING.sub(r'\1"***"', text)
    left = _SECRET_LEFT.search(text)
    if left is not None:
        text = text[:left.end()] + "***"
    return fill(WS_INVALID_REQUEST, text)


def wrong_channel(arg: dict) -> Answer:
    return fill(WS_WRONG_CHANNEL, ",".join(f"{k}:{v}" for k, v in arg.items()))


# --- channels ----------------------------------------------------------------------------------
BOOK_CHANNELS = ("books", "books5", "bbo-tbt")
PUBLIC_MD_CHANNELS = BOOK_CHANNELS + ("tickers", "trades")
BUSINESS_MD_CHANNELS = ("trades-all",)  # plus candle<bar>
PRIVATE_CHANNELS = ("orders", "positions", "account", "balance_and_position", "fills")
# OKX also serves these; the simulator answers them with 60018 because it does not model them,
# but a client that picks the wrong URL still gets the migration error OKX gives.
OTHER_PUBLIC_CHANNELS = ("books50-l2-tbt", "books-l2-tbt", "books-elp", "instruments", "mark-price", "index-tickers",
                         "funding-rate", "open-interest", "price-limit", "status")
WS_TRADE_OPS = ("order", "batch-orders", "cancel-order", "batch-cancel-orders", "amend-order", "batch-amend-orders")
ROLES = ("public", "business", "private")


def is_business_channel(channel: str) -> bool:
    """Channels OKX moved to /business on 2023-06-20 (the subset the simulator knows about)."""
    return channel.startswith(("candle", "mark-price-candle", "index-candle")) or channel in BUSINESS_MD_CHANNELS


def is_public_only_channel(channel: str) -> bool:
    return channel in PUBLIC_MD_CHANNELS or channel in OTHER_PUBLIC_CHANNELS
