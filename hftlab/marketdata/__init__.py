"""Market data in domain terms, shared by collect and live: bars from trades (`bars`) and the MarketFeed that
owns the books, the bars and the top of book of one event stream (`feed`)."""
