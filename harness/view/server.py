"""`harness view`: an aiohttp server with JSON endpoints and a static front end, read-only over the runs.

Every database call runs in a worker thread so one slow query does not stall the others. Search
indexes are built in one background thread after start-up (see :mod:`harness.view.search_index`);
until a run's index is ready a search answers 409 with the progress.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from harness.view.items import item_view
from harness.view.prompts import PromptRenderer
from harness.view.render import highlight_css
from harness.view.routerview import artifact_path, list_artifacts, route_query, router_summary
from harness.view.runs import Run, compare_runs, discover_runs
from harness.view.samples import (
    SampleFilter,
    SearchUnavailable,
    facets,
    sample_count,
    sample_detail,
    sample_page,
)
from results.manifest import read_manifest
from results.records import TaskInfo

STATIC_DIR = Path(__file__).parent / "static"


class Viewer:
    """The runs under one root, opened lazily and kept open."""

    def __init__(self, root: Path, *, data_dir: Path | None = None, build_index: bool = True):
        self.root = Path(root)
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()
        self.prompts = PromptRenderer(data_dir)
        self._routers: dict[tuple[str, str], tuple[float, Any]] = {}
        self.build_index = build_index
        self._indexer: threading.Thread | None = None
        self._stopping = threading.Event()

    def refresh(self) -> list[str]:
        found = discover_runs(self.root)
        with self._lock:
            for name, path in found.items():
                if name not in self._runs:
                    self._runs[name] = Run(name, path)
        return list(found)

    def run(self, name: str | None) -> Run:
        if not name:
            raise web.HTTPBadRequest(text="missing parameter: run")
        with self._lock:
            run = self._runs.get(name)
        if run is None:
            self.refresh()
            with self._lock:
                run = self._runs.get(name)
        if run is None:
            raise web.HTTPNotFound(text=f"no run {name!r} under {self.root}")
        run.attach_index_if_ready()
        return run

    def start_indexing(self) -> None:
        if not self.build_index or (self._indexer and self._indexer.is_alive()):
            return

        def work() -> None:
            for name in self.refresh():
                if self._stopping.is_set():
                    return
                run = self.run(name)
                run.index.ensure_current(stop=self._stopping)
                with self._lock:
                    if not self._stopping.is_set():
                        run.attach_index_if_ready()

        self._indexer = threading.Thread(target=work, name="view-indexer", daemon=True)
        self._indexer.start()

    def task_info(self, run: Run) -> dict[str, TaskInfo]:
        manifest = read_manifest(run.dir)
        return dict(manifest.task_info) if manifest else {}

    def router(self, run: Run, name: str):
        from router.model import Router

        path = artifact_path(run.dir, name)
        key = (run.name, name)
        mtime = path.stat().st_mtime
        hit = self._routers.get(key)
        if hit is None or hit[0] != mtime:
            hit = (mtime, Router.load(path))
            self._routers[key] = hit
        return hit[1]

    def close(self) -> None:
        self._stopping.set()
        if self._indexer is not None:
            self._indexer.join(timeout=60)
        with self._lock:
            for run in self._runs.values():
                run.db.close()


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, default=str)


def _filter(request: web.Request) -> SampleFilter:
    params = {k: v for k, v in request.query.items() if v != "" and k != "run"}
    try:
        return SampleFilter.model_validate(params)
    except ValidationError as exc:
        raise web.HTTPBadRequest(
            text=f"bad sample filter: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"
        ) from exc


def _required(request: web.Request, *names: str) -> list[str]:
    missing = [n for n in names if not request.query.get(n)]
    if missing:
        raise web.HTTPBadRequest(text=f"missing parameter(s): {', '.join(missing)}")
    return [request.query[n] for n in names]


def build_app(viewer: Viewer) -> web.Application:
    routes = web.RouteTableDef()
    off = asyncio.to_thread

    @routes.get("/")
    async def index(_: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    @routes.get("/data.js")
    async def no_bundle(_: web.Request) -> web.Response:
        return web.Response(
            text="// live server: answers come from the JSON endpoints\n", content_type="text/javascript"
        )

    @routes.get("/highlight.css")
    async def code_css(_: web.Request) -> web.Response:
        return web.Response(text=highlight_css(), content_type="text/css")

    @routes.get("/api/runs")
    async def runs(_: web.Request) -> web.Response:
        names = await off(viewer.refresh)
        summaries = [await off(viewer.run(n).summary) for n in names]
        return _json({"root": str(viewer.root), "runs": summaries})

    @routes.get("/api/run")
    async def run_detail(request: web.Request) -> web.Response:
        run = viewer.run(request.query.get("run"))
        summary = await off(run.summary)
        report = await off(lambda: run.report(fresh=request.query.get("fresh") == "1"))
        return _json({"summary": summary, **report})

    @routes.get("/api/compare")
    async def compare(request: web.Request) -> web.Response:
        a, b = (viewer.run(n) for n in _required(request, "a", "b"))
        rows = compare_runs(await off(a.metrics), await off(b.metrics))
        return _json({"a": a.name, "b": b.name, "rows": rows})

    @routes.get("/api/facets")
    async def run_facets(request: web.Request) -> web.Response:
        run = viewer.run(request.query.get("run"))
        data = await off(run.cached, "facets", lambda: facets(run.db))
        state = run.index.state
        return _json({**data, "index": state.__dict__})

    @routes.get("/api/index")
    async def index_state(request: web.Request) -> web.Response:
        run = viewer.run(request.query.get("run"))
        return _json(run.index.state.__dict__)

    @routes.get("/api/samples")
    async def samples(request: web.Request) -> web.Response:
        run = viewer.run(request.query.get("run"))
        try:
            return _json(await off(sample_page, run.db, _filter(request)))
        except SearchUnavailable as exc:
            return _json({"error": str(exc), "index": run.index.state.__dict__}, status=409)

    @routes.get("/api/samples/count")
    async def samples_count(request: web.Request) -> web.Response:
        run = viewer.run(request.query.get("run"))
        try:
            return _json({"count": await off(sample_count, run.db, _filter(request))})
        except SearchUnavailable as exc:
            return _json({"error": str(exc), "index": run.index.state.__dict__}, status=409)

    @routes.get("/api/sample")
    async def sample(request: web.Request) -> web.Response:
        run = viewer.run(request.query.get("run"))
        task, item_id, model, index_text = _required(request, "task", "item_id", "model", "sample_index")
        try:
            index = int(index_text)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"sample_index must be an integer, got {index_text!r}") from exc
        detail = await off(sample_detail, run.db, task, item_id, model, index)
        if detail is None:
            raise web.HTTPNotFound(text=f"no sample {task}/{item_id}/{model}/{index} in run {run.name}")
        return _json(detail)

    @routes.get("/api/prompt")
    async def prompt(request: web.Request) -> web.Response:
        run = viewer.run(request.query.get("run"))
        task, item_id = _required(request, "task", "item_id")
        return _json(
            await off(viewer.prompts.prompt, run.db, task, item_id, request.query.get("prompt_hash"))
        )

    @routes.get("/api/item")
    async def item(request: web.Request) -> web.Response:
        run = viewer.run(request.query.get("run"))
        task, item_id = _required(request, "task", "item_id")
        data = await off(item_view, run.db, task, item_id, viewer.task_info(run).get(task))
        if data is None:
            raise web.HTTPNotFound(text=f"no item {task}/{item_id} in run {run.name}")
        return _json(data)

    @routes.get("/api/router")
    async def router_files(request: web.Request) -> web.Response:
        run = viewer.run(request.query.get("run"))
        return _json(list_artifacts(run.dir))

    @routes.get("/api/router/summary")
    async def router_info(request: web.Request) -> web.Response:
        run = viewer.run(request.query.get("run"))
        (name,) = _required(request, "artifact")
        router = await off(viewer.router, run, name)
        return _json(await off(router_summary, router, run.db, run.dir))

    @routes.get("/api/router/route")
    async def router_route(request: web.Request) -> web.Response:
        run = viewer.run(request.query.get("run"))
        (name,) = _required(request, "artifact")
        text = request.query.get("text") or None
        task, item_id = request.query.get("task") or None, request.query.get("item_id") or None
        if text is None and not (task and item_id):
            raise web.HTTPBadRequest(text="give text, or task and item_id")
        router = await off(viewer.router, run, name)
        try:
            top_n = int(request.query.get("top_n", "1"))
        except ValueError as exc:
            raise web.HTTPBadRequest(text="top_n must be an integer") from exc
        try:
            data = await off(
                route_query,
                router,
                run.db,
                text=text,
                task=task,
                item_id=item_id,
                top_n=top_n,
                task_info=viewer.task_info(run),
            )
        except KeyError as exc:
            raise web.HTTPNotFound(text=str(exc.args[0])) from exc
        except Exception as exc:  # embedder unavailable (offline, missing extra): show why
            return _json(
                {"error": f"could not embed the query with {router.config.embedder}: {exc}"}, status=502
            )
        return _json(data)

    @routes.get("/api/router/file")
    async def router_file(request: web.Request) -> web.StreamResponse:
        run = viewer.run(request.query.get("run"))
        (name,) = _required(request, "name")
        try:
            return web.FileResponse(artifact_path(run.dir, name))
        except FileNotFoundError as exc:
            raise web.HTTPNotFound(text=str(exc)) from exc

    @web.middleware
    async def errors(request: web.Request, handler):
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if request.path.startswith("/api/") and exc.status >= 400:
                return _json({"error": exc.text}, status=exc.status)
            raise
        except (FileNotFoundError, ValueError) as exc:
            return _json({"error": str(exc)}, status=404 if isinstance(exc, FileNotFoundError) else 400)

    app = web.Application(middlewares=[errors])
    app.add_routes(routes)
    app.router.add_static("/static/", STATIC_DIR)

    async def on_startup(_: web.Application) -> None:
        viewer.start_indexing()

    async def on_cleanup(_: web.Application) -> None:
        viewer.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def serve(viewer: Viewer, host: str, port: int, *, print_url=None) -> None:
    app = build_app(viewer)

    async def announce(_: web.Application) -> None:
        if print_url is not None:
            print_url(f"http://{host}:{port}/")

    app.on_startup.append(announce)
    web.run_app(app, host=host, port=port, print=None, handle_signals=True)
