"""``/api/health``: the route load balancers poll, answered without queueing.

The database is probed at most once a second (in the thread pool, on a read-only
connection, so on SQLite it never waits for the write lock); every other check in
between answers from the last probe. A failed probe answers 503 with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from siyu import __version__
from siyu.db import Database

PROBE_INTERVAL_SECONDS = 1.0


@dataclass
class DatabaseProbe:
    db: Database
    checked_at: float = float("-inf")
    problem: str | None = None

    def _probe(self) -> None:
        try:
            with self.db.read_connection() as conn:
                conn.exec_driver_sql("SELECT 1")
            self.problem = None
        except Exception as exc:  # any failure is the answer, not an error of this route
            self.problem = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        self.checked_at = time.monotonic()

    async def problem_now(self) -> str | None:
        if time.monotonic() - self.checked_at >= PROBE_INTERVAL_SECONDS:
            await run_in_threadpool(self._probe)
        return self.problem


def install_health(app: FastAPI, db: Database, *, payment: str) -> None:
    probe = DatabaseProbe(db)

    @app.get("/api/health", tags=["meta"])
    async def health() -> JSONResponse:
        """健康检查：进程在服务，数据库可达（最多每秒探测一次）；payment 为支付通道（sandbox 为沙箱）。"""
        problem = await probe.problem_now()
        body = {"status": "ok", "version": __version__, "database": db.dialect, "payment": payment}
        if problem is not None:
            body.update(status="unavailable", problem=problem)
            return JSONResponse(body, 503)
        return JSONResponse(body)
