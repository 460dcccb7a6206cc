"""Market-data collection: the recorder (Parquet), the collector (client -> books -> bars -> recorder + Redis)
and the `hftlab collect` command."""
