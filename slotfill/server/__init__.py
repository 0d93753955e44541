"""`slotfill serve`: an HTTP API (FastAPI + uvicorn) with micro-batching and a page to try models in a browser."""

# defaults of `slotfill serve` (kept here, light to import, for the CLI's options)
MAX_TEXTS = 1000  # texts in one request
MAX_CHARS = 10_000  # characters in one text
MAX_BATCH = 64  # sentences in one model call
BATCH_WAIT_MS = 2.0  # how long a request may wait for others to batch with
