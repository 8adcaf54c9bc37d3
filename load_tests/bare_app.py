"""The floor of the stack for `make bench`'s per-step table: a bare FastAPI app with one ping
route, served with the same uvicorn flags as the app. Nothing of ours runs in it."""
from fastapi import FastAPI

app = FastAPI()


@app.get("/api/v1/ping")
async def ping():
    return {"ok": True}
