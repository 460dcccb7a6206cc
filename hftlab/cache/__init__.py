"""Redis: the embedded server and the bounded, non-blocking hot cache."""
