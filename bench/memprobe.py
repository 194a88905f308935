"""Run in a subprocess by bench/run.py: featurise one recording of N windows with the generated
numpy module and report time and peak memory as one JSON line.

    python -m bench.memprobe {shared8|twist_and_go} N_WINDOWS REPEATS TRACEMALLOC [BLOCK]

TRACEMALLOC: 0 none, 1 an extra traced run after the timed ones, 2 trace the (single) timed run
(for the largest sizes, where a second run would double the time; tracemalloc only records the
allocations, which numpy makes in large blocks, so its overhead is small there).
BLOCK: featurise in blocks of BLOCK windows into a preallocated output (valid for a stateless
spec with one hop-1 window, e.g. shared8): what streaming through the recording would use.

Peak RSS: the kernel's high-water mark (VmHWM) reset through /proc/self/clear_refs just before
featurize, so imports and data generation do not count; tracemalloc: the exact peak of Python
and numpy allocations during featurize (numpy reports its buffers to tracemalloc).
"""

from __future__ import annotations

import json
import re
import sys
import time
import tracemalloc


def _status(key: str) -> int | None:
    try:
        m = re.search(rf"^{key}:\s*(\d+) kB", open("/proc/self/status").read(), re.M)
        return int(m.group(1)) * 1024 if m else None
    except OSError:
        return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def main() -> None:
    which, n_windows, repeats, tm = (
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        int(sys.argv[4]),
    )
    block = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    import numpy as np

    from bench import specs

    spec, files = specs.shared() if which == "shared8" else specs.example()
    module = specs.numpy_module(files, spec.name)
    L = spec.max_length
    n = n_windows + L - 1
    samples = specs.recording(n, len(spec.inputs))
    module.featurize(samples[: L + 50])  # warm-up: first-call costs

    def featurize():
        if not block:
            return module.featurize(samples)[0]
        assert len(spec.windows) == 1 and spec.windows[0].hop == 1
        out = np.empty((n_windows, len(spec.feature_names)))
        for i in range(0, n_windows, block):
            part = module.featurize(samples[i : i + block + L - 1])[0]
            out[i : i + part.shape[0]] = part
        return out

    times, peaks = [], []
    out_shape = None
    traced = None
    for _ in range(1 if tm == 2 else repeats):
        features = None
        hwm_ok = _reset_hwm()
        before = _status("VmRSS")
        if tm == 2:
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
        t0 = time.process_time()
        features = featurize()
        times.append(time.process_time() - t0)
        if tm == 2:
            traced = tracemalloc.get_traced_memory()[1] - base
            tracemalloc.stop()
        out_shape = features.shape
        peak = _status("VmHWM") if hwm_ok else None
        peaks.append(None if peak is None or before is None else peak - before)
        del features
    if tm == 1:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        features = featurize()
        traced = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        del features
    print(
        json.dumps(
            {
                "spec": which,
                "windows": n_windows,
                "block": block,
                "traced_run": {0: "none", 1: "separate", 2: "the timed run"}[tm],
                "samples": n,
                "vectors": out_shape[0],
                "features": out_shape[1],
                "output_bytes": out_shape[0] * out_shape[1] * 8,
                "input_bytes": samples.nbytes,
                "seconds": times,
                "rss_peak_delta": peaks,
                "traced_peak": traced,
            }
        )
    )


if __name__ == "__main__":
    main()
