"""A realistic stand-in for Kazakhstan's civil registry. Not part of the product."""

from .app import create_app, sign_callback
from .config import FaultConfig, SimConfig

__all__ = ["create_app", "sign_callback", "FaultConfig", "SimConfig"]
