"""`invoke verify`'s checks, one module per concern; registry.CHECK_ORDER says the order they run in."""
