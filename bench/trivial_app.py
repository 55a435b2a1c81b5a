"""Baseline of bench/submission_http.py: a FastAPI endpoint that only parses a JSON body."""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.post("/echo", status_code=201)
async def echo(body: dict[str, Any]) -> dict[str, int]:
    """Parse the body and answer with its size, like the real endpoint minus its work."""
    return {"fields": len(body)}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
