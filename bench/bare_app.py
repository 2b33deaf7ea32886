"""The baseline of bench/serve_bench.py: a bare FastAPI app — one ``async`` GET returning
a 20-item JSON list — served by the same server class and worker count as Siyu.

    python bench/bare_app.py --port 8200 [--workers 2]
"""

from __future__ import annotations

import argparse
from typing import Any

from fastapi import FastAPI

ITEMS = [{"id": i, "title": f"商品 {i}", "min_price_fen": 990 + i} for i in range(20)]


def create_bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/bare")
    async def bare() -> dict[str, Any]:
        return {"items": ITEMS, "next_cursor": None}

    return app


def main() -> None:
    from siyu.server import build_server, serve_processes

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers == 1:
        app = create_bare_app()
        build_server(app, host="127.0.0.1", port=args.port, log_level="warning").run()
        return
    serve_processes(
        host="127.0.0.1",
        port=args.port,
        processes=args.workers,
        factory="bench.bare_app:create_bare_app",
        log_level="warning",
    )


if __name__ == "__main__":
    main()
