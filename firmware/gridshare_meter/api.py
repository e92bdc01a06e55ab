"""The meter's HTTP API on Microdot (MicroPython on the board, CPython in the simulator)."""

import asyncio

from microdot import Microdot, Response

from gridshare_meter.page import render

REQUEST_S = 10
"""A connection gets this long to send its request and take the answer. Microdot waits for a
request's lines without end, and the board has sockets for only a few connections: a few
clients that send half a request and wait would keep the server's commands out."""


class MeterApp(Microdot):
    """Microdot with a deadline on each connection (`REQUEST_S`)."""

    async def handle_request(self, reader, writer):
        try:
            await asyncio.wait_for(super().handle_request(reader, writer), REQUEST_S)
        except asyncio.TimeoutError:
            try:
                await writer.aclose()
            except OSError:
                pass


def _query_command(request, action, did=None):
    """A signed read request from query parameters, or None when the request is anonymous."""
    args = request.args
    if args.get("sig") is None:
        return None
    msg = {"type": "cmd", "action": action, "sig": args.get("sig")}
    for field in ("meter", "counter", "time"):
        try:
            msg[field] = int(args.get(field, ""))
        except ValueError:
            msg[field] = None
    if did is not None:
        msg["id"] = did
    return msg


def create_app(meter, clock, name="meter"):
    """A Microdot app serving one meter; `clock.now_ms()` is the meter's local time."""
    app = MeterApp()

    def body(request):
        try:
            return request.json
        except Exception:
            return None

    @app.get("/")
    async def index(request):
        return Response(render(name, meter.status_dict()), headers={"Content-Type": "text/html"})

    @app.get("/status")
    async def status(request):
        msg = _query_command(request, "status")
        if msg is None:  # unsigned, so a stranger's reads spend no counter (no flash writes)
            meter.update(clock.now_ms())
            return meter.status_dict()
        code, report = meter.command(msg, "status", clock.now_ms())
        return report, code

    @app.post("/deliveries")
    async def start(request):
        code, report = meter.command(body(request), "start", clock.now_ms())
        return report, code

    @app.get("/deliveries/<int:did>")
    async def delivery(request, did):
        msg = _query_command(request, "get", did)
        if msg is None:  # unsigned, as /status
            d = meter.book.get(did)
            if d is None:
                return {"error": "id: no such delivery"}, 404
            return d.to_dict()
        code, report = meter.command(msg, "get", clock.now_ms(), did)
        return report, code

    @app.post("/deliveries/<int:did>/stop")
    async def stop(request, did):
        code, report = meter.command(body(request), "stop", clock.now_ms(), did)
        return report, code

    @app.post("/heartbeat")
    async def heartbeat(request):
        code, report = meter.command(body(request), "ping", clock.now_ms())
        return report, code

    @app.errorhandler(404)
    async def not_found(request):
        return {"error": "path: no such endpoint"}, 404

    @app.errorhandler(405)
    async def not_allowed(request):
        return {"error": "method: " + request.method + " is not allowed here"}, 405

    return app
