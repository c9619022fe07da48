"""The application layer: commands, their handlers, use cases, ports and bootstrap."""
