#!/usr/bin/python3
"""bench_torch.py: PyTorch training throughput of ser's default model, the baseline for
`ser bench` (jobs/bench_train.sh runs both).

One training step = forward + backward + Adam step on a batch of synthetic input (random
normal [B,40,130], random labels in 0..6), the model from tests/torch_model.py (the same
layers and shapes as ser's). Reports the median over --repeat timed steps after --warmup
untimed ones, as one JSON line like `ser bench`:
  {"what":"torch_train","mode":"single"|"ddp","procs":P,"threads":T,"batch":B,
   "samples_per_s":...,"ms_per_batch_median":...,"peak_rss_mib":[per process]}

--mode single: one process, torch.set_num_threads(--threads), batch --batch.
--mode ddp: --procs processes (torch.multiprocessing) x --threads threads, gloo backend over
  tcp://127.0.0.1, DistributedDataParallel; the GLOBAL batch is --batch (each rank takes
  batch/procs samples, like ser's ranks), samples_per_s counts global samples. The step time
  is rank 0's median; ranks are barrier-synchronised before each timed step.
"1 thread" means one core: torch.set_num_threads() does not reach the BLAS that Debian's torch
calls (OpenBLAS, which otherwise starts one thread per core), so OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS and MKL_NUM_THREADS are set to --threads before torch is imported (measured
here: without that, "1 thread" used 1.76 cores and ran ~1.2x faster). cpu_ms_per_batch_median
(process CPU time, all threads) shows how many cores a step really used.
Set MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ in the environment before starting it to
measure glibc malloc settings (they must be set at process start). No timed assertions.
"""
import argparse
import json
import os
import resource
import socket
import statistics
import sys
import time


def _threads_from_argv(argv):
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return "1"


# Before torch (and its BLAS) is loaded; spawned DDP workers inherit the environment.
if __name__ == "__main__":
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _threads_from_argv(sys.argv[1:])

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from torch_model import DEFAULT_SPEC, build_model  # noqa: E402


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed_steps(model, opt, x, y, warmup, repeat, sync=None):
    times, cpu = [], []
    model.train()
    for i in range(warmup + repeat):
        if sync:
            sync()
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if i >= warmup:
            times.append(dt)
            cpu.append(dc)
    return statistics.median(times), statistics.median(cpu)


def data(batch, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 40, 130, generator=g), torch.randint(0, 7, (batch,), generator=g)


def single(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = build_model(a.model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = data(a.batch, 0)
    t, c = timed_steps(model, opt, x, y, a.warmup, a.repeat)
    return {"what": "torch_train", "mode": "single", "procs": 1, "threads": a.threads,
            "batch": a.batch, "samples_per_s": round(a.batch / t, 1),
            "ms_per_batch_median": round(1e3 * t, 3),
            "cpu_ms_per_batch_median": round(1e3 * c, 3), "repeat": a.repeat,
            "peak_rss_mib": [round(peak_rss_mib(), 1)], "torch": torch.__version__}


def ddp_worker(rank, a, port, q):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    torch.set_num_threads(a.threads)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=a.procs)
    torch.manual_seed(0)
    model = DDP(build_model(a.model))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    per = a.batch // a.procs + (1 if rank < a.batch % a.procs else 0)
    x, y = data(per, rank + 1)
    t, c = timed_steps(model, opt, x, y, a.warmup, a.repeat, sync=dist.barrier)
    ts = torch.tensor([t, c], dtype=torch.float64)
    dist.broadcast(ts, 0)  # rank 0's median step time, for everyone
    rss = [None] * a.procs
    dist.all_gather_object(rss, round(peak_rss_mib(), 1))
    if rank == 0:
        q.put((ts[0].item(), ts[1].item(), rss))
    dist.destroy_process_group()


def ddp(a):
    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    q = ctx.SimpleQueue()
    mp.start_processes(ddp_worker, args=(a, port, q), nprocs=a.procs, join=True,
                       start_method="spawn")
    t, c, rss = q.get()
    return {"what": "torch_train", "mode": "ddp", "procs": a.procs, "threads": a.threads,
            "batch": a.batch, "samples_per_s": round(a.batch / t, 1),
            "ms_per_batch_median": round(1e3 * t, 3),
            "cpu_ms_per_batch_median": round(1e3 * c, 3), "repeat": a.repeat,
            "peak_rss_mib": rss, "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=["single", "ddp"], default="single")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--model", default=DEFAULT_SPEC)
    a = ap.parse_args()
    if a.batch < a.procs:
        raise SystemExit("--batch must be at least --procs")
    r = single(a) if a.mode == "single" else ddp(a)
    r["openblas_num_threads"] = os.environ.get("OPENBLAS_NUM_THREADS")
    r["malloc_mmap_threshold"] = os.environ.get("MALLOC_MMAP_THRESHOLD_", "default")
    print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
