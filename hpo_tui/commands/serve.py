"""`hpo-tui serve`: the same app in a web browser, served by textual-serve.

Each browser tab runs its own `hpo-tui` process (argv list, never a shell). Every
request must carry the secret token (in the URL, or in the cookie a tokened page sets)
and name the served address in its Host (and Origin, when it has one: a websocket must),
the server binds loopback unless told otherwise, and at most `--max-tabs` sessions run
at once, so tabs watching one SageMaker tuning job cannot multiply API calls without bound.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import ipaddress
import secrets
import shlex
import signal
import sys
from asyncio.subprocess import Process
from pathlib import Path
from typing import Any

# Imported only when `hpo-tui serve` runs (cli.py dispatches lazily): --help stays fast.
import aiohttp_jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from hpo_tui.errors import UserError

PAGES = Path(__file__).with_name("serve_pages")
# The driver that keeps the app's stdout for textual-serve's protocol alone.
SERVED_DRIVER = "hpo_tui.app.served:ServedDriver"
REMOTE_WARNING = (
    "WARNING: serving on {host}, which is not a loopback address. Anyone who can reach "
    "port {port} and knows the URL can launch and stop tuning jobs with this user's AWS "
    "credentials. Prefer the loopback default and an SSH tunnel: "
    "ssh -L {port}:127.0.0.1:{port} THIS-HOST"
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost: it may resolve anywhere


def app_argv(args: argparse.Namespace) -> list[str]:
    """The `hpo-tui` arguments every tab runs: configure (default), `attach NAME` or `jobs`."""
    rest = list(args.app_args or [])
    if rest and rest[0] == "--":
        rest = rest[1:]
    start, params = (rest[0], rest[1:]) if rest else ("configure", [])
    if start == "attach":
        if len(params) != 1 or params[0].startswith("-"):
            raise UserError("serve attach: give one tuning job name, e.g. hpo-tui serve attach my-tuning-job")
        argv = ["attach", params[0]]
    elif start == "jobs" and not params:
        argv = ["jobs", "--tui"]
    elif start == "configure" and not params:
        argv = []
    else:
        raise UserError(f"serve: unknown start screen {' '.join(rest)!r}; use nothing (configure), "
                        "`attach NAME` or `jobs`, e.g. hpo-tui serve attach my-tuning-job")
    backend: list[str] = []
    for flag, value in (("--backend", args.backend), ("--region", args.region), ("--profile", args.profile)):
        if value is not None:
            backend += [flag, value]
    interval = ["--interval", str(args.interval)] if args.interval is not None else []
    if args.spec:
        if argv:
            raise UserError("serve: --spec opens the configure screen; drop it or the start screen")
        return backend + interval + ["--spec", str(Path(args.spec).expanduser().resolve())]
    if start == "attach":
        return argv + backend + interval  # attach takes every option after its name
    if start == "jobs":
        return interval + argv + backend  # `jobs` takes --interval only before it
    return backend + interval


def cmd_serve(args: argparse.Namespace) -> int:
    if not is_loopback(args.host) and not args.allow_remote:
        raise UserError(f"--host {args.host} is not a loopback address: anyone who reaches the port could "
                        "launch jobs with your AWS credentials. Keep the default (127.0.0.1) and use an SSH "
                        f"tunnel (ssh -L {args.port or 8000}:127.0.0.1:{args.port or 8000} HOST), "
                        "or add --allow-remote if you really mean it")
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: use a port number from 1 to 65535 (0 picks a free one)")
    if args.max_tabs < 1:
        raise UserError(f"--max-tabs {args.max_tabs}: use 1 or more")
    tui_args = app_argv(args)
    argv = [sys.executable, "-m", "hpo_tui.cli", *tui_args]
    # The browser tab's title: which screen (and tuning job) this server serves.
    title = "hpo-tui " + (f"attach {tui_args[1]}" if tui_args[:1] == ["attach"] else
                          "jobs" if "jobs" in tui_args else "configure")
    if args.spec and not Path(args.spec).expanduser().is_file():
        raise UserError(f"--spec {args.spec}: no such file")
    token = None if args.no_token else secrets.token_urlsafe(24)
    server = TokenServer(argv, host=args.host, port=args.port, token=token, max_tabs=args.max_tabs, title=title)
    if not is_loopback(args.host):
        if args.port:
            print(REMOTE_WARNING.format(host=args.host, port=args.port), file=sys.stderr, flush=True)
        else:  # --port 0: the warning names the port once it is bound (TokenServer.run)
            server.remote_warning = True
    if token is None:
        print("WARNING: --no-token: any local user or web page that reaches the port can use this "
              "session.", file=sys.stderr, flush=True)
    asyncio.run(server.run())
    return 0


# --- the server -------------------------------------------------------------------------


class ArgvAppService(AppService):
    """One app process per websocket, started from an argv list (never a shell), whose
    driver keeps the process's stdout for textual-serve's protocol alone."""

    def __init__(self, argv: list[str], **kwargs: Any) -> None:
        super().__init__(shlex.join(argv), **kwargs)
        self.argv = argv

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        environment["TEXTUAL_DRIVER"] = SERVED_DRIVER
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=self._build_environment(width, height))
        self._stdin = process.stdin
        return process


class PathAccessLogger(AbstractAccessLogger):
    """One line per request, without the query string: the token stays out of the log."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %s", request.remote, request.method, request.path, response.status)


class TokenServer(Server):
    """textual-serve's server with a token on every request, a cap on tabs, our own page
    (no third-party font host), and a banner that shows the port actually bound."""

    def __init__(self, argv: list[str], *, host: str, port: int, token: str | None, max_tabs: int,
                 title: str = "hpo-tui") -> None:
        super().__init__(shlex.join(argv), host=host, port=port, title=title, templates_path=PAGES)
        self.argv = argv
        self.token = token
        self.max_tabs = max_tabs
        self.sessions = 0
        self.remote_warning = False  # print REMOTE_WARNING once bound (a port picked by the system)
        # Cookies are shared by every port of a host: one name per port, set once bound.
        self.cookie = f"hpo_tui_token_{port}"

    # -- token ------------------------------------------------------------------------

    def authorised(self, request: web.Request) -> bool:
        if self.token is None:
            return True
        # The page URL carries the token; the page sets it as a cookie for what textual.js
        # requests without it (the websocket's own query string, /download/KEY).
        presented = request.query.get("token") or request.cookies.get(self.cookie) or ""
        return hmac.compare_digest(presented.encode(), self.token.encode())

    # -- origin and host -------------------------------------------------------------

    def served_hosts(self) -> set[str]:
        """The Host values a page of this server is loaded under: the address served and,
        on loopback, the other names of loopback (a browser may say localhost)."""
        port = self.port
        names = {self.host.lower()}
        if is_loopback(self.host):
            names |= {"127.0.0.1", "localhost", "::1"}
        elif self.host in ("0.0.0.0", "::", ""):
            names |= {"127.0.0.1", "localhost", "::1"} | this_machine_names()
        return {f"[{n}]:{port}" if ":" in n else f"{n}:{port}" for n in names}

    def same_origin(self, request: web.Request) -> str | None:
        """Why the request is refused (None: it comes from a page of this server).

        The token cookie alone is not enough: browsers send cookies of 127.0.0.1 to every
        port, so a hostile page on another local port (or a DNS-rebound name) could open a
        session with it. Host must be the served address; Origin, when present, too; a
        websocket handshake (browsers always send Origin) must carry it."""
        hosts = self.served_hosts()
        host = (request.headers.get("Host") or "").lower()
        if host not in hosts:
            return f"Host {host or '(none)'!r} is not the address this server serves"
        origin = request.headers.get("Origin")
        is_websocket = request.headers.get("Upgrade", "").lower() == "websocket"
        if origin is None:
            return "a websocket without an Origin" if is_websocket else None
        scheme, _, rest = origin.lower().partition("://")
        if scheme not in ("http", "https") or rest not in hosts:
            return f"Origin {origin!r} is not a page of this server"
        return None

    @web.middleware
    async def token_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        refused = self.same_origin(request)
        if refused is not None:
            return web.Response(status=403, content_type="text/html", text=message_page(
                "Forbidden", "This hpo-tui server answers only its own pages, opened at the address "
                "<code>hpo-tui serve</code> printed."))
        if not self.authorised(request):
            return web.Response(status=403, content_type="text/html", text=message_page(
                "Forbidden", "This hpo-tui server needs the URL with the token that "
                "<code>hpo-tui serve</code> printed when it started."))
        return await handler(request)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.token_middleware)
        return app

    # -- pages ------------------------------------------------------------------------

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if self.sessions >= self.max_tabs:
            return web.Response(status=503, content_type="text/html", text=message_page(
                "Too many tabs", f"hpo-tui is already open in {self.sessions} browser tabs, the limit of "
                f"this server (--max-tabs {self.max_tabs}). Each tab is its own app that polls the tuning "
                "job, so the limit keeps the API calls bounded. Close a tab, then reload this page."))
        scheme = "wss" if request.secure else "ws"
        response = aiohttp_jinja2.render_template("app_index.html", request, {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            # textual.js appends "?width=..&height=.." to this URL: the cookie carries the token.
            "app_websocket_url": f"{scheme}://{request.host}/ws",
            "token_query": f"?token={self.token}" if self.token else "",
            "application": {"name": self.title},
        })
        if self.token:
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
        response.headers["Cache-Control"] = "no-store"
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        if self.sessions >= self.max_tabs:
            # The page was loaded while a slot was free; the page shows "Session ended".
            await websocket.close(message=b"too many tabs")
            return websocket
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        self.sessions += 1
        app_service = ArgvAppService(self.argv, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                                     close=websocket.close, download_manager=self.download_manager)
        try:
            await app_service.start(width, height)
            await self._process_messages(websocket, app_service)
        except asyncio.CancelledError:
            await websocket.close()
        finally:
            self.sessions -= 1
            await app_service.stop()
        return websocket

    async def on_startup(self, app: web.Application) -> None:
        pass  # no logo: run() prints the URL once the port is bound

    # -- run --------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until SIGINT/SIGTERM, then close every tab (each app is told to quit)."""
        self.initialize_logging()
        runner = web.AppRunner(await self._make_app(), handle_signals=False, access_log_class=PathAccessLogger)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            raise UserError(f"cannot listen on {self.host}:{self.port} ({err.strerror}); "
                            "choose another --port (0 picks a free one)") from None
        host, port = runner.addresses[0][:2]
        self.port = port  # the port bound (0 picks one): what Host and Origin must name
        self.cookie = f"hpo_tui_token_{port}"
        if self.remote_warning:
            print(REMOTE_WARNING.format(host=self.host, port=port), file=sys.stderr, flush=True)
        shown = f"[{host}]" if ":" in host else host
        self.public_url = f"http://{shown}:{port}"
        query = f"?token={self.token}" if self.token else ""
        print(f"hpo-tui is served at {self.public_url}/{query}", flush=True)
        print(f"From another machine: ssh -L {port}:127.0.0.1:{port} THIS-HOST, then open "
              f"http://127.0.0.1:{port}/{query} there. Ctrl+C stops the server.", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()


def this_machine_names() -> set[str]:
    """This machine's host name and the addresses it resolves to: what a browser may put in
    Host for a server bound to every address (--host 0.0.0.0 --allow-remote)."""
    import socket

    name = socket.gethostname().lower()
    names = {name, socket.getfqdn().lower()}
    try:
        names |= {str(info[4][0]).lower() for info in socket.getaddrinfo(name, None)}
    except OSError:
        pass
    return names


def message_page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>hpo-tui: {title}</title></head>"
            "<body style='background:#0c181f;color:#eee;font-family:monospace;padding:3em'>"
            f"<h1>{title}</h1><p id='message'>{body}</p></body></html>")
