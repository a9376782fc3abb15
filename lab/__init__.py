"""concurrency-lab: measure asyncio, threads and processes on your own workload and machine."""

__version__ = "0.1.0"
