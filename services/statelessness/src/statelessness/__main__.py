from pana_kit.serve import serve

from .app import create
from .settings import StatelessnessSettings

serve(create, StatelessnessSettings)
