"""python -m civil_registry_simulator --host 127.0.0.1 --port 8009"""

from __future__ import annotations

import argparse

import uvicorn

from .app import create_app
from .config import SimConfig


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="civil_registry_simulator", description="Civil-registry simulator (not the product)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8009)
    p.add_argument("--records", type=int, help="seeded birth records (SIM_RECORDS, default 1000)")
    p.add_argument("--seed", type=int, help="seed (SIM_SEED)")
    p.add_argument("--api-key", help="API key (SIM_API_KEY)")
    p.add_argument("--log-level", default="warning")
    args = p.parse_args(argv)
    config = SimConfig.from_env(records=args.records, seed=args.seed, api_key=args.api_key)
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
