"""gilviz: make CPython's Global Interpreter Lock visible."""

__version__ = "0.1.0"
