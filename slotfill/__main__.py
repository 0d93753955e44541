"""`python -m slotfill` runs the command line."""

from .cli import main

main()
