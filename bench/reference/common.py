"""Shared by the reference benchmarks."""
import time


def timed(fn, repeats):
    """Median seconds of `fn` over `repeats` runs, after one warm-up run."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return sorted(samples)[len(samples) // 2]
