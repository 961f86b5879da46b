from .base import Event
from . import civil_registry, registration, rsd, statelessness

__all__ = ["Event", "civil_registry", "registration", "rsd", "statelessness"]
