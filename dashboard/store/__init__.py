"""SQL the dashboard runs: one module per resource, plain functions taking a connection."""
