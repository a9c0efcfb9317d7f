"""`harness view RUN --bundle DIR`: a static, self-contained copy of the viewer to share.

What a bundle holds (everything else needs the live server, and the page says so):

- the Runs page, every run's summary and report tables, and the comparison of every pair of runs;
- on the Samples page, the first N samples (``--bundle-samples``, default 50) of the whole run, of each
  task, each model, each outcome and each task x model pair, each with its full detail (rendered
  response, answer, gold, grade) and the item-across-models page of every item they show;
- on the Router page, each artifact's clusters, profile heatmap and routing shares, and the plots.

Not in a bundle: full-text search, paging past the first page, routing a new query, and prompts
re-rendered from task files. The data are the server's own JSON answers, fetched from the real app
over loopback and embedded in ``data.js`` (so ``index.html`` works from ``file://`` without a server).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from harness.view.render import highlight_css
from harness.view.server import STATIC_DIR, Viewer, build_app

# Parameters the front end leaves out of a bundle key because they are the defaults.
_DEFAULTS = {"page": "0", "scope": "all"}


def api_key(path: str, params: dict[str, Any]) -> str:
    """The key app.js looks up: sorted parameters, encoded like encodeURIComponent, defaults left out."""
    kept = {k: str(v) for k, v in params.items() if v not in (None, "") and _DEFAULTS.get(k) != str(v)}
    kept.pop("page_size", None)
    return path + "?" + "&".join(f"{_component(k)}={_component(kept[k])}" for k in sorted(kept))


def _component(text: str) -> str:
    return quote(text, safe="-_.!~*'()")


class _Collector:
    def __init__(self, session: ClientSession, base: str):
        self.session = session
        self.base = base
        self.api: dict[str, Any] = {}

    async def get(self, path: str, **params: Any) -> Any:
        key = api_key(path, params)
        if key in self.api:
            return self.api[key]
        query = {k: str(v) for k, v in params.items() if v not in (None, "")}
        async with self.session.get(f"{self.base}/{path}", params=query) as resp:
            body = await resp.json()
            if resp.status != 200:
                print(f"bundle: {path} {query}: {body.get('error')}", file=sys.stderr)
                return None
        self.api[key] = body
        return body


async def _collect(root: Path, samples_per_filter: int) -> tuple[dict[str, Any], dict[str, Path]]:
    viewer = Viewer(root, build_index=False)
    server = TestServer(build_app(viewer), host="127.0.0.1")
    await server.start_server()
    files: dict[str, Path] = {}
    try:
        async with ClientSession() as session:
            c = _Collector(session, str(server.make_url("")).rstrip("/"))
            runs = (await c.get("api/runs"))["runs"]
            names = [r["name"] for r in runs]
            for a, b in itertools.permutations(names, 2):
                await c.get("api/compare", a=a, b=b)
            for name in names:
                await c.get("api/run", run=name)
                facets = await c.get("api/facets", run=name)
                filters: list[dict[str, str]] = [{}]
                filters += [{"task": t} for t in facets["tasks"]]
                filters += [{"model": m} for m in facets["models"]]
                filters += [{"outcome": o} for o in facets["outcomes"]]
                filters += [{"task": t, "model": m} for t in facets["tasks"] for m in facets["models"]]
                shown: dict[tuple, None] = {}
                for f in filters:
                    page = await c.get("api/samples", run=name, page_size=samples_per_filter, **f)
                    for row in page["rows"] if page else ():
                        shown[(row["task"], row["item_id"], row["model"], row["sample_index"])] = None
                for task, item_id, model, index in shown:
                    await c.get(
                        "api/sample", run=name, task=task, item_id=item_id, model=model, sample_index=index
                    )
                for task, item_id in dict.fromkeys((k[0], k[1]) for k in shown):
                    await c.get("api/item", run=name, task=task, item_id=item_id)
                router = await c.get("api/router", run=name)
                for artifact in router["artifacts"]:
                    await c.get("api/router/summary", run=name, artifact=artifact)
                for plot in router["plots"]:
                    files[f"{name}/{plot}"] = viewer.run(name).dir / "router" / plot
            return c.api, files
    finally:
        await server.close()
        viewer.close()


def write_bundle(root: Path, out: Path, *, samples_per_filter: int = 50) -> Path:
    """Write the bundle into ``out`` (created; an existing bundle there is replaced) and return it."""
    out = Path(out)
    api, files = asyncio.run(_collect(Path(root), samples_per_filter))
    if (out / "data.js").is_file():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(STATIC_DIR, out / "static", dirs_exist_ok=True)
    shutil.copy2(STATIC_DIR / "index.html", out / "index.html")
    (out / "highlight.css").write_text(highlight_css(), encoding="utf-8")
    file_urls = {}
    for key, source in files.items():
        target = out / "files" / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        file_urls[key] = f"files/{key}"
    payload = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="minutes"),
        "samples_per_filter": samples_per_filter,
        "api": api,
        "files": file_urls,
    }
    data = json.dumps(payload, ensure_ascii=False, default=str)
    (out / "data.js").write_text(f"window.BUNDLE = {data};\n", encoding="utf-8")
    return out
