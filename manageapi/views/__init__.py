"""The manage API's views, one module per area."""
