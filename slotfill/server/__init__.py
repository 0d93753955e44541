"""`slotfill serve`: an HTTP API (FastAPI + uvicorn) with micro-batching and a page to try models in a browser."""
