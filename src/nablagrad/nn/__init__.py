"""Neural-network building blocks (``nablagrad.nn``)."""
from . import functional  # noqa: F401
