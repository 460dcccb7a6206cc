"""OKX v5, the only code that knows its field names and codes: wire format and typed events (`parse`,
`events`), sequence-checked books (`book`), signing (`auth`), REST (`rest`, `instruments`), and the
WebSocket client (`client`) composed of one socket (`connection`), the 64008 de-duplication
(`overlap`), book health (`bookhealth`), the event queue (`queue`) and the order channel (`execution`);
and the execution venue the order manager trades through (`venue`: OkxVenue), with the answer-code table
(`outcomes`), trading records <-> domain types (`records`) and OKX's rate limits (`limits`)."""
