"""The ``siyu`` command: serve, worker, migrate, demo, simulate, create-operator,
flash-sale reconcile."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from siyu.config import Settings

app = typer.Typer(help="私域 Siyu: WeChat mini-program store growth engine", no_args_is_help=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        typer.secho(f"配置错误 / settings error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    from siyu.migrate import upgrade

    settings = _settings()
    upgrade(settings.sqlalchemy_url)
    typer.echo(f"database at head: {settings.sqlalchemy_url.split('@')[-1]}")


LOG_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s %(message)s"


def _warn_single_process(settings: Settings, what: str) -> None:
    """Refuse ``what`` in production on single-process stores; warn loudly elsewhere."""
    try:
        stores = settings.check_several_processes(what)
    except ValueError as exc:
        typer.secho(f"配置错误 / settings error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    for store in stores:
        typer.secho(
            f"警告 / WARNING ({what}): {store}. 仅限开发 / development only.",
            fg=typer.colors.YELLOW,
            bold=True,
            err=True,
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="run without the worker")] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="API processes (> 1: PostgreSQL and a ClickHouse server in production)",
        ),
    ] = 1,
) -> None:
    """Serve the API, its docs and the pages (with the worker as a thread).

    With ``--workers N`` > 1, N API processes share the port and none of them runs the
    worker; the supervising process runs one worker thread instead (unless
    ``--no-worker``: then run ``siyu worker`` processes)."""
    from siyu.server import build_server

    settings = _settings()
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    host, port = host or settings.host, port or settings.port
    run_worker = settings.run_worker and not no_worker
    if workers == 1:
        from siyu.app import create_app

        application = create_app(settings, run_worker=run_worker)
        build_server(
            application, host=host, port=port, log_level="info", access_log=settings.access_log
        ).run()
        return
    _warn_single_process(settings, f"siyu serve --workers {workers}")
    os.environ["SIYU_RUN_WORKER"] = "false"  # read by each API process's settings
    _serve_with_supervisor_worker(settings, run_worker, host=host, port=port, workers=workers)


def _serve_with_supervisor_worker(
    settings: Settings, run_worker: bool, *, host: str, port: int, workers: int
) -> None:
    from siyu.bootstrap import build_context
    from siyu.server import serve_processes
    from siyu.worker import Worker

    ctx = build_context(settings) if run_worker else None
    background = Worker(ctx) if ctx is not None else None
    if background is not None:
        background.start()
    try:
        serve_processes(
            host=host,
            port=port,
            processes=workers,
            log_level="info",
            access_log=settings.access_log,
        )
    finally:
        if background is not None and ctx is not None:
            background.stop()
            ctx.close()


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="one pass, then exit")] = False,
) -> None:
    """Run timers and the outbox relay in this process (PostgreSQL: run as many as needed).

    SIGTERM or Ctrl-C stops it after the pass in progress."""
    from siyu.bootstrap import build_context
    from siyu.worker import Worker

    settings = _settings()
    if settings.is_sqlite and not once:
        typer.secho(
            "SQLite is single-process: `siyu serve` already runs the worker. Use "
            "PostgreSQL (SIYU_DATABASE_URL) for separate worker processes.",
            fg=typer.colors.YELLOW,
            err=True,
        )
        raise typer.Exit(2)
    if not once:
        _warn_single_process(settings, "siyu worker")
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    ctx = build_context(settings)
    w = Worker(ctx)
    try:
        if once:
            fired, published = w.tick()
            typer.echo(f"timers fired: {fired}, events published: {published}")
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: w.request_stop())
        logging.getLogger("siyu.worker").info("worker started (pid %d)", os.getpid())
        w.run_forever()
        logging.getLogger("siyu.worker").info("worker stopped (pid %d)", os.getpid())
    finally:
        ctx.close()


@app.command()
def demo(
    shoppers: Annotated[int, typer.Option(help="number of demo shoppers")] = 60,
    history_days: Annotated[
        int, typer.Option(help="days of simulated visits for the analytics (0: none)")
    ] = 30,
    history_shoppers: Annotated[int, typer.Option(help="shoppers arriving over those days")] = 200,
) -> None:
    """Seed a believable demo store, then simulate the last days of visits, orders and
    shares so the analytics pages have data (idempotent: a seeded store with a tracked
    history is left as it is)."""
    from siyu.bootstrap import build_context
    from siyu.devtools.demo import seed_demo
    from siyu.devtools.simulate import seed_history

    if history_days < 0 or (history_days and history_shoppers < 1):
        raise typer.BadParameter("history days must be ≥ 0 and history shoppers ≥ 1")
    settings = _settings()
    ctx = build_context(settings)
    try:
        report = seed_demo(ctx, shoppers=shoppers)
    finally:
        ctx.close()
    typer.echo(report)
    if history_days:
        typer.echo("模拟近期访问与订单… / Simulating recent visits and orders…")
        typer.echo(seed_history(settings, days=history_days, shoppers=history_shoppers))


@app.command()
def simulate(
    days: Annotated[int, typer.Option(help="days of history, ending today")] = 30,
    shoppers: Annotated[int, typer.Option(help="shoppers arriving over those days")] = 300,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same history)")] = 2026,
    bulk: Annotated[bool, typer.Option("--bulk", help="write straight into analytics")] = False,
    events: Annotated[int, typer.Option(help="--bulk: events to write")] = 10_000_000,
    persons: Annotated[int, typer.Option(help="--bulk: distinct persons")] = 500_000,
) -> None:
    """Simulate a store history through the public APIs (or --bulk analytics rows)."""
    from siyu.devtools.simulate import run_cli

    typer.echo(run_cli(_settings(), days=days, shoppers=shoppers, seed=seed, bulk=bulk,
                       events=events, persons=persons))  # fmt: skip


@app.command("create-operator")
def create_operator(
    username: str,
    role: Annotated[str, typer.Option(help="owner | operator | analyst | support")] = "owner",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create an operator account (the first owner, typically)."""
    from siyu.bootstrap import build_context
    from siyu.errors import DomainError
    from siyu.identity.operators import create_operator as create
    from siyu.identity.rules import Role

    settings = _settings()
    ctx = build_context(settings)
    try:
        with ctx.db.transaction() as session:
            op = create(
                session,
                username=username,
                display_name=username,
                password=password,
                role=Role(role),
                now=ctx.clock.now(),
            )
            typer.echo(f"created {op.username} ({op.role})")
    except (DomainError, ValueError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    finally:
        ctx.close()


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="a new folder for this backup")],
    server: Annotated[
        str | None,
        typer.Option(help="URL of the running siyu serve (default: SIYU_HOST:SIYU_PORT)"),
    ] = None,
) -> None:
    """Back up the database, the analytics store and the media folder into DEST (online:
    `siyu serve` may keep running)."""
    from siyu.backup import BackupError, Server, create_backup

    settings = _settings()
    try:
        manifest = create_backup(settings, dest, server=Server(server) if server else None)
    except (BackupError, OSError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    orders = manifest.sql_tables.get("orders", 0)
    events = manifest.analytics_tables.get("events", 0)
    typer.echo(
        f"备份完成 / Backup written to {dest}: {len(manifest.sql_tables)} tables "
        f"({orders} orders), {events} analytics events, {manifest.media_files} media files"
    )


@app.command()
def restore(
    source: Annotated[Path, typer.Argument(help="a folder written by `siyu backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="replace a target that already has data")
    ] = False,
) -> None:
    """Restore a backup into the configured (empty) database, analytics store and media
    folder. Stop `siyu serve` first."""
    from siyu.backup import BackupError, restore_backup

    settings = _settings()
    try:
        manifest = restore_backup(settings, source, force=force)
    except (BackupError, OSError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"恢复完成 / Restored the backup of {manifest.created_at}: "
        f"{sum(manifest.sql_tables.values())} rows, "
        f"{sum(manifest.analytics_tables.values())} analytics rows, "
        f"{manifest.media_files} media files. Run `siyu migrate` if this siyu is newer."
    )


@app.command()
def rehearse(
    url: Annotated[
        str | None, typer.Option(help="the store's base URL (default: the configured host:port)")
    ] = None,
    shoppers: Annotated[int, typer.Option(min=1, max=10_000, help="simulated shoppers")] = 20,
    ramp: Annotated[float, typer.Option(min=0.1, help="shoppers started per second")] = 5.0,
    duration: Annotated[int, typer.Option(min=5, max=24 * 3600, help="seconds")] = 60,
    report_dir: Annotated[
        Path | None,
        typer.Option(help="where the JSON report goes (default: <data dir>/rehearsals)"),
    ] = None,
) -> None:
    """大促压测 / Sale rehearsal: Locust shoppers browse → product → cart → quote → place →
    pay (sandbox only) against the store, then the orders and stock are checked in the
    database and a report is written (console page 大促压测)."""
    from siyu.rehearse.report import format_table
    from siyu.rehearse.runner import RehearsalRefused, default_plan
    from siyu.rehearse.runner import rehearse as run

    settings = _settings()
    plan = default_plan(
        settings, url=url, shoppers=shoppers, ramp=ramp, duration=duration, report_dir=report_dir
    )
    try:
        report, path = run(settings, plan)
    except RehearsalRefused as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    typer.echo(format_table(report))
    typer.echo(f"报告 / report: {path}")
    if not report["verdict"]["ok"]:
        raise typer.Exit(1)


flash_sale_app = typer.Typer(help="秒杀 / flash sale", no_args_is_help=True)
app.add_typer(flash_sale_app, name="flash-sale")


@flash_sale_app.command("reconcile")
def flash_sale_reconcile(
    session_id: Annotated[int, typer.Argument(min=1, help="the flash-sale session")],
    fix: Annotated[
        bool, typer.Option(help="set the gate (Redis) to the database's counts")
    ] = False,
) -> None:
    """对账 / Reconcile: compare the gate's counts (Redis) with the database for every item
    of a session; exit 1 on drift (fixed with --fix). The worker does it a minute after
    each session ends."""
    import json

    from siyu.bootstrap import build_context
    from siyu.errors import DomainError
    from siyu.flash_sale.service import reconcile

    ctx = build_context(_settings())
    try:
        with ctx.db.transaction() as session:
            report = reconcile(session, ctx.flash_gate, session_id, fix=fix, now=ctx.clock.now())
    except DomainError as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    finally:
        ctx.close()
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    if not report["clean"] and not fix:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
