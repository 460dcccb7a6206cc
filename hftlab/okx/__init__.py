"""OKX v5: wire format, typed events, order books, signing and the WebSocket client."""
