"""One module per task family; stackkit.cli wires them to invoke."""
