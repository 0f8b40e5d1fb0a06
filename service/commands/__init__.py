"""CLI commands that live in their own modules; `service.cli` registers them."""
