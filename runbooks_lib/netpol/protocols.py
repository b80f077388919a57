"""The protocols a NetworkPolicy port can name. Alone in a module so that the command line
can offer them as choices without importing the engine (and numpy)."""

PROTOCOLS = ("TCP", "UDP", "SCTP")
