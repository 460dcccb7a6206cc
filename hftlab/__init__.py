"""hftlab."""
