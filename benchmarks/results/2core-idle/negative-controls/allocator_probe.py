"""Issue 26's cause, outside the lab: sha256 over 32 files of 2 MiB read in 1 MiB chunks, in
the main thread and in a 1-thread pool, with a fresh `bytes` per read (f.read, what the lab's
hashing did) and with one reused buffer (readinto, what it does now). Prints the median of 8
passes and the minor page faults of the median pass.

    python allocator_probe.py            # writes its corpus to a temporary folder first

Measured on the idle 2-core VM (CPython 3.11.7, glibc 2.36), 2026-12-06:

    main fresh                     67.8 ms  minflt/pass 15360
    thread1 fresh                  41.8 ms  minflt/pass 0
    main reuse                     41.5 ms  minflt/pass 0
    thread1 reuse                  42.6 ms  minflt/pass 0
"""

import glob
import hashlib
import random
import resource
import tempfile
from concurrent.futures import ThreadPoolExecutor

CH = 1024 * 1024


def fresh(path: str) -> str:
    d = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while c := f.read(CH):
            d.update(c)
    return d.hexdigest()


def reuse(path: str) -> str:
    d = hashlib.sha256()
    buf = bytearray(CH)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            d.update(view[:n])
    return d.hexdigest()


def measure(label: str, run: object) -> None:
    import time

    passes = []
    for _ in range(8):
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t = time.perf_counter()
        run()  # type: ignore[operator]
        dt = time.perf_counter() - t
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        passes.append((dt, r1.ru_minflt - r0.ru_minflt))
    passes.sort()
    median = passes[len(passes) // 2]
    print(f"{label:28s} {median[0] * 1e3:6.1f} ms  minflt/pass {median[1]}")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        rng = random.Random(1)
        for i in range(32):
            with open(f"{folder}/f{i}.bin", "wb") as f:
                f.write(rng.randbytes(2 * CH))
        files = sorted(glob.glob(f"{folder}/*.bin"))
        for fn in (fresh, reuse):
            measure(f"main {fn.__name__}", lambda fn=fn: [fn(p) for p in files])
            with ThreadPoolExecutor(1) as pool:
                measure(f"thread1 {fn.__name__}", lambda fn=fn: list(pool.map(fn, files)))


if __name__ == "__main__":
    main()
