from pana_kit.serve import serve

from .app import create
from .settings import BridgeSettings

serve(create, BridgeSettings)
