"""What a component is, one module per component, and the registry that lists them."""
