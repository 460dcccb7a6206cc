"""OKX v5 error codes and messages as the venue sends them, and the channel map (which URL serves what).

Codes are strings on the wire (`"code":"60012"`). Messages follow OKX's wording where it is known
(docs, captured frames, client issue reports) so that clients matching on text behave the same.
"""

from __future__ import annotations

# --- WebSocket (general class) ---------------------------------------------------------------
WS_INVALID_TIMESTAMP = ("60004", "Invalid timestamp")
WS_INVALID_APIKEY = ("60005", "Invalid apiKey")
WS_TS_EXPIRED = ("60006", "Timestamp request expired")
WS_INVALID_SIGN = ("60007", "Invalid sign")
WS_LOGIN_FAILED = ("60009", "Login failed.")
WS_PLEASE_LOGIN = ("60011", "Please log in")
WS_INVALID_REQUEST = "60012"  # msg: "Invalid request: <the request as received>"
WS_INVALID_ARGS = ("60013", "Invalid args")
WS_WRONG_CHANNEL = "60018"  # msg built by wrong_channel_msg
WS_INVALID_OP = "60019"
WS_WRONG_PASSPHRASE = ("60024", "Wrong passphrase")
WS_EMPTY_PARAM = "60027"
WS_OP_WRONG_URL = ("60028", "The current operation is not supported by this URL. "
                            "Please use the correct WebSocket URL for the operation.")
WS_REPEATED_LOGIN = ("60031", "The WebSocket connection is already logged in. "
                              "Multiple or repeated logins are not allowed.")
WS_MIGRATED_TO_BUSINESS = (
    "64001",
    "This channel has been migrated to the '/business' URL. Please subscribe using the new URL. More details can "
    "refer to: https://www.okx.com/help-center/changes-to-v5-api-websocket-subscription-parameter-and-url",
)
WS_NOT_ON_BUSINESS = ("64002", "This channel is not supported by \"business\" URL. Please use \"public\" URL.")
WS_NOTICE_UPGRADE = ("64008", "The connection will soon be closed for a service upgrade. Please reconnect.")

CLOSE_LOGIN_FAILED = 4001
CLOSE_IDLE = (4004, "No data received in 30s.")
CLOSE_BUFFER_FULL = (4005, "Buffer full, cannot continue sending data.")
CLOSE_ABNORMAL = (4006, "Abnormal disconnection.")
CLOSE_UPGRADE = (1001, "Service upgrade.")  # OKX documents no code for this close; 1001 = going away

# --- REST / trading ----------------------------------------------------------------------------
REST_SERVICE_UNAVAILABLE = ("50001", "Service temporarily unavailable. Please try again later.")
REST_JSON_ERROR = ("50002", "JSON syntax error")
RATE_LIMIT = ("50011", "Rate limit reached. Please refer to API documentation and throttle requests accordingly.")
REST_EMPTY_PARAM = "50014"  # "Parameter {name} can not be empty."
REST_TS_EXPIRED = ("50102", "Timestamp request expired.")
REST_NO_KEY = ("50103", 'Request header "OK-ACCESS-KEY" cannot be empty.')
REST_NO_PASSPHRASE = ("50104", 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.')
REST_BAD_PASSPHRASE = ("50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.')
REST_NO_SIGN = ("50106", 'Request header "OK-ACCESS-SIGN" cannot be empty.')
REST_NO_TIMESTAMP = ("50107", 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.')
REST_INVALID_KEY = ("50111", "Invalid OK-ACCESS-KEY.")
REST_INVALID_TIMESTAMP = ("50112", "Invalid OK-ACCESS-TIMESTAMP.")
REST_INVALID_SIGN = ("50113", "Invalid Sign.")
PARAM_ERROR = "51000"  # "Parameter {name} error"
NO_INSTRUMENT = ("51001", "Instrument ID, Instrument ID code, or Spread ID doesn't exist.")
ORDER_NOT_EXIST = ("51603", "Order does not exist")
BATCH_ALL_FAILED = "All operations failed"
BATCH_PARTIAL = "Bulk operation partially succeeded."


def empty_param(name: str, ws: bool = False) -> tuple[str, str]:
    return (WS_EMPTY_PARAM if ws else REST_EMPTY_PARAM, f"Parameter {name} can not be empty.")


def param_error(name: str) -> tuple[str, str]:
    return (PARAM_ERROR, f"Parameter {name} error")


def wrong_channel_msg(arg: dict) -> str:
    detail = ",".join(f"{k}:{v}" for k, v in arg.items())
    return (f"Wrong URL or {detail} doesn't exist. "
            "Please use the correct URL, channel and parameters referring to API document.")


# --- channels ----------------------------------------------------------------------------------
BOOK_CHANNELS = ("books", "books5", "bbo-tbt")
PUBLIC_MD_CHANNELS = BOOK_CHANNELS + ("tickers", "trades")
BUSINESS_MD_CHANNELS = ("trades-all",)  # plus candle<bar>
PRIVATE_CHANNELS = ("orders", "positions", "account")
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
