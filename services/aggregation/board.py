"""The progress board: web pages for the unions and the public, over the progress API.

The pages are static files (HTML, CSS, JavaScript and a vendored Chart.js) served as they are in
the repository, with no build step: the browser reads the figures from ``/v1`` and follows
``/v1/unions/{code}/stream`` to read them again whenever they change.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static" / "board"
PAGE = STATIC / "index.html"


async def _page() -> FileResponse:
    # The national page and every union's page are one document: it reads the union from the
    # address and asks the API, which answers 404 for an unknown one.
    return FileResponse(PAGE, media_type="text/html; charset=utf-8")


async def _to_board() -> RedirectResponse:
    return RedirectResponse("/board/")


def install(app: FastAPI) -> None:
    """Serve the board at ``/board/`` (national page) and ``/board/unions/{code}``."""
    app.mount("/board/static", StaticFiles(directory=STATIC), name="board-static")
    app.add_api_route("/board/", _page, include_in_schema=False)
    app.add_api_route("/board/unions/{union_code}", _page, include_in_schema=False)
    app.add_api_route("/board", _to_board, include_in_schema=False)
    app.add_api_route("/", _to_board, include_in_schema=False)
