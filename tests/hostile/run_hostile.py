#!/usr/bin/env python3
"""run_hostile.py SER CORPUS WORKDIR [--only REGEX] [--list] [--verbose]

ctest `hostile_inputs` (issue "Hostile input"): runs every ser command on hostile inputs made
by make_hostile.py and checks, for each case of the table CASES below:

  * the exit status (an exact value, or a set where the issue allows either);
  * the message: a regular expression on stderr (and, where useful, on stdout) that names
    the file or field;
  * that nothing was lost or replaced (device nodes, FIFOs, user files and checkpoints are
    compared before and after);
  * that no run crashed: no signal exit, no 'AddressSanitizer', 'LeakSanitizer' or
    'runtime error:' (UBSan) in the output (CI also runs this under the sanitizer build);
  * that no run hangs: every command runs under a timeout (60 s unless a case says less) in
    its own session, killed whole if it overruns; a memory watchdog kills a command whose
    process group grows beyond HOSTILE_MAX_RSS_MB (default 3000) so that a runaway
    allocation cannot take the machine down; cases that bound the memory measure the peak
    with /usr/bin/time -v.

CORPUS is the generated 10-word corpus (ctest fixture corpus10); the cases use small copies
of it (4 words: 56 files) and files made by make_hostile.py, all inside WORKDIR, which is
recreated (it must be empty, absent, or a previous run's work directory). Exit status 0 when
every case passes, 1 otherwise (the failing cases are listed at the end).

The environment of the ctest (SER_MPI_ENV) lets mpirun run as root; the same defaults are
set here for a run by hand. In a sanitizer build leak checking is off for the MPI commands
(tests/CMakeLists.txt); the commands that never start MPI (predict, export, info, features,
scan, summary) run with detect_leaks=1, so a leak on an error path is reported too.
"""
import codecs
import csv
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_hostile as mh  # noqa: E402

import numpy as np  # noqa: E402

TIMEOUT = 60
MAX_RSS_MB = int(os.environ.get("HOSTILE_MAX_RSS_MB", "3000"))
MARKER = ".hostile-workdir"
SANITIZER = re.compile(rb"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                       rb"runtime error:")
NO_MPI = {"predict", "export", "info", "features", "scan", "summary"}
TIME_V = "/usr/bin/time"


class CheckFailed(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise CheckFailed(msg)


# ---------------------------------------------------------------------------------------
# Running commands

class Result:
    def __init__(self, argv):
        self.argv = argv
        self.rc = None
        self.out = b""
        self.err = b""
        self.seconds = 0.0
        self.rss_kb = None       # peak, from /usr/bin/time -v (when asked for)
        self.watch_kb = 0        # peak seen by the watchdog (process group, sampled)
        self.problems = []       # crash, hang, sanitizer report, runaway memory

    @property
    def errs(self):
        return self.err.decode("utf-8", "backslashreplace")

    @property
    def outs(self):
        return self.out.decode("utf-8", "backslashreplace")

    def show(self):
        cmd = " ".join(repr(a) if re.search(r"[\s'\"\\]", a) or not a else a
                       for a in map(os.fsdecode, self.argv))
        tail = lambda s: s if len(s) < 3000 else "...\n" + s[-3000:]  # noqa: E731
        return (f"    $ {cmd}\n    exit status {self.rc}, {self.seconds:.1f} s"
                + (f", peak RSS {self.rss_kb // 1024} MB" if self.rss_kb else "")
                + (f"\n    stdout: {tail(self.outs)!r}" if self.out else "")
                + (f"\n    stderr: {tail(self.errs)!r}" if self.err else ""))


def group_rss_kb(pgid):
    """Resident memory of every process of process group pgid, in KiB (sampled)."""
    total = 0
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                st = f.read()
            fields = st[st.rindex(b")") + 2:].split()
            if int(fields[2]) != pgid:
                continue
            with open(f"/proc/{d}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page_kb
        except (OSError, ValueError, IndexError):
            continue
    return total


def left_behind(pgid, grace=2.0):
    """Whether live (not zombie) processes of group pgid remain after a grace period."""
    t0 = time.monotonic()
    while True:
        alive = False
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat", "rb") as f:
                    st = f.read()
                fields = st[st.rindex(b")") + 2:].split()
                alive |= int(fields[2]) == pgid and fields[0] != b"Z"
            except (OSError, ValueError, IndexError):
                continue
        if not alive or time.monotonic() - t0 > grace:
            return alive
        time.sleep(0.1)


class Watchdog(threading.Thread):
    """Kills process group pgid if its resident memory exceeds the limit."""

    def __init__(self, pgid, limit_kb):
        super().__init__(daemon=True)
        self.pgid, self.limit_kb = pgid, limit_kb
        self.peak_kb, self.killed = 0, False
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.05):
            kb = group_rss_kb(self.pgid)
            self.peak_kb = max(self.peak_kb, kb)
            if kb > self.limit_kb:
                self.killed = True
                try:
                    os.killpg(self.pgid, signal.SIGKILL)
                except OSError:
                    pass
                return


class Ctx:
    def __init__(self, ser, corpus, work, verbose=False):
        self.ser, self.corpus, self.w = ser, corpus, work
        self.verbose = verbose
        self.v = {}              # values that a case's setup hands to its command and check
        self.results = []        # every command a case ran (crash checks apply to all)
        env = dict(os.environ)
        for k, val in (("OMPI_ALLOW_RUN_AS_ROOT", "1"), ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"),
                       ("OMPI_MCA_rmaps_base_oversubscribe", "1")):
            env.setdefault(k, val)
        env.pop("SER_FAULT_SIGNAL_BATCH", None)
        env.pop("SER_FAULT_NAN_BATCH", None)
        self.env = env

    def p(self, *parts):
        return os.path.join(self.w, *parts)

    def _env(self, argv, extra):
        env = dict(self.env)
        if len(argv) > 1 and os.fsdecode(argv[1]) in NO_MPI:
            opts = [o for o in env.get("ASAN_OPTIONS", "").split(":")
                    if o and not o.startswith("detect_leaks=")]
            env["ASAN_OPTIONS"] = ":".join(opts + ["detect_leaks=1"])
        env.update(extra or {})
        return env

    def run(self, args, timeout=TIMEOUT, stdout=None, env=None, measure_rss=False):
        """Runs `ser ARGS` (args[0] may also be another program given as an absolute path)
        in the work directory; every run is checked for crashes, hangs and sanitizer
        reports. stdout: None (captured) or a path to write it to."""
        argv = [self.ser] + list(args) if not os.path.isabs(os.fsdecode(args[0])) else list(args)
        r = Result(argv)
        tfile = None
        if measure_rss and os.access(TIME_V, os.X_OK):
            tfile = self.p(".time-v.txt")
            argv = [TIME_V, "-v", "-o", tfile] + argv
        out_f = open(stdout, "wb") if stdout else subprocess.PIPE
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(argv, cwd=self.w, env=self._env(r.argv, env),
                                 stdin=subprocess.DEVNULL, stdout=out_f, stderr=subprocess.PIPE,
                                 start_new_session=True)
        finally:
            if stdout:
                out_f.close()
        dog = Watchdog(p.pid, MAX_RSS_MB * 1024)
        dog.start()
        try:
            r.out, r.err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            r.out, r.err = p.communicate()
            r.problems.append(f"did not end within {timeout} s (killed): a hang")
        finally:
            dog.done.set()
            dog.join()
        r.out = r.out or b""
        r.seconds = time.monotonic() - t0
        r.rc = p.returncode
        r.watch_kb = dog.peak_kb
        if not r.problems and left_behind(p.pid):   # a rank or helper still running
            os.killpg(p.pid, signal.SIGKILL)
            r.problems.append("processes of the command were still running after it ended")
        if dog.killed:
            r.problems.append(f"resident memory above {MAX_RSS_MB} MB: killed by the watchdog")
        if tfile:
            with open(tfile, errors="replace") as f:
                tv = f.read()
            os.unlink(tfile)
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv)
            r.rss_kb = int(m.group(1)) if m else None
            m = re.search(r"Command terminated by signal (\d+)", tv)
            if m:
                r.rc = -int(m.group(1))
        elif measure_rss:
            r.rss_kb = dog.peak_kb
        if r.rc is not None and r.rc < 0:
            r.problems.append(f"killed by signal {-r.rc} ({signal.Signals(-r.rc).name})")
        elif r.rc is not None and r.rc >= 128 and not tfile:
            r.problems.append(f"exit status {r.rc}: a signal or crash")
        for stream, text in (("stderr", r.err), ("stdout", r.out)):
            m = SANITIZER.search(text)
            if m:
                line = text[max(0, text.rfind(b"\n", 0, m.start()) + 1):][:300]
                r.problems.append(f"sanitizer report on {stream}: "
                                  f"{line.decode('utf-8', 'replace')}")
        if stdout and os.path.exists(stdout) and os.path.isfile(stdout):
            with open(stdout, "rb") as f:
                m = SANITIZER.search(f.read())
            if m:
                r.problems.append("sanitizer report on stdout")
        self.results.append(r)
        if self.verbose:
            print(r.show())
        return r

    def spawn(self, args, log):
        """Starts `ser ARGS` in the background (its own session), output to log."""
        with open(self.p(log), "wb") as f:
            return subprocess.Popen([self.ser] + list(args), cwd=self.w, env=self._env(
                [self.ser] + list(args), None), stdin=subprocess.DEVNULL, stdout=f,
                stderr=subprocess.STDOUT, start_new_session=True)


# ---------------------------------------------------------------------------------------
# Fixtures shared by the cases (made once, before the cases, in WORKDIR)

WORDS = 4          # words per folder copied from CORPUS: 14 folders x 4 = 56 files
N = 14 * WORDS     # (3 words are too few for the old split code: empty val/test sets)
EPOCH1 = ["--epochs", "1", "--batch-size", "8", "--quiet"]


def copy_corpus(x, dst, folders=None):
    """A copy of the tiny corpus (or some of its folders) at WORKDIR/dst."""
    src = x.p("tiny")
    for d in sorted(os.listdir(src)):
        if folders is None or d in folders:
            shutil.copytree(os.path.join(src, d), os.path.join(x.p(dst), d))
    return dst


def wavs(root):
    """Every .wav below root, relative to the work directory's parent of root (as ser
    names them when given root relative to the work directory)."""
    out = []
    for dp, _dn, fn in os.walk(root):
        out += [os.path.join(dp, f) for f in fn if f.endswith(".wav")]
    return sorted(out)


def fixtures(x):
    """tiny/ (N files), base/ (a 1-epoch run: last.ckpt, best.ckpt), tiny.features.serf."""
    words = None
    os.makedirs(x.p("tiny"))
    for d in sorted(os.listdir(x.corpus)):
        full = os.path.join(x.corpus, d)
        if not os.path.isdir(full):
            continue
        names = sorted(f for f in os.listdir(full) if f.endswith(".wav"))
        if words is None:
            words = sorted({f.split("_")[1] for f in names})[:WORDS]
        os.makedirs(x.p("tiny", d))
        for f in names:
            if f.split("_")[1] in words:
                shutil.copy2(os.path.join(full, f), x.p("tiny", d, f))
    n = len(wavs(x.p("tiny")))
    need(n == 14 * WORDS, f"{x.corpus}: expected 14 folders with {WORDS} words, copied {n} files")
    r = x.run(["train", "--data", "tiny", "--out", "base"] + EPOCH1)
    need(r.rc == 0 and os.path.isfile(x.p("base", "last.ckpt")),
         "the base run failed:\n" + r.show())
    need(os.path.isfile(x.p("tiny.features.serf")), "the base run wrote no feature file")
    os.unlink(x.p("base", ".ser.lock")) if os.path.exists(x.p("base", ".ser.lock")) else None
    x.v["tone"] = mh.tone(1.5)
    mh.write(x.p("good.wav"), mh.wav_kind("good"))


def run_copy(x, name, drop=()):
    """A copy of the base run directory (without its lock and the files in drop)."""
    shutil.copytree(x.p("base"), x.p(name), ignore=shutil.ignore_patterns(".ser.lock", *drop))
    return name


def craft(x, src, dst, change):
    """WORKDIR/dst: pack WORKDIR/src with change(recs) applied, valid CRCs."""
    return mh.modified(x.p(src), x.p(dst), change)


def snapshot(path):
    """What must not change: the type, device number and, for a regular file, its bytes."""
    st = os.lstat(path)
    data = None
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            data = f.read()
    link = os.readlink(path) if stat.S_ISLNK(st.st_mode) else None
    return (stat.S_IFMT(st.st_mode), st.st_rdev, data, link)


def unchanged(x, *names):
    """Checks that the files saved by keep() are as they were."""
    for n in names:
        need(os.path.lexists(x.p(n)), f"{n} is gone")
        need(snapshot(x.p(n)) == x.v["keep"][n], f"{n} was changed or replaced")


def keep(x, *names):
    x.v.setdefault("keep", {})
    for n in names:
        x.v["keep"][n] = snapshot(x.p(n))


def no_tmp_left(x, d="."):
    left = [f for f in os.listdir(x.p(d)) if ".tmp." in f]
    need(not left, f"temporary files left behind in {d}: {left}")


def feature_file(x, name):
    return mh.load(x.p(name))[1]


def csv_rows(text):
    return list(csv.reader(io.StringIO(text, newline="")))


# ---------------------------------------------------------------------------------------
# The cases. Each: name (the number is the case), cmd (a list of ser arguments;
# strings may use {name} for values of x.v), rc (int or tuple), err (regex on stderr),
# out (regex on stdout), setup/check/teardown (functions of the context; check also gets the
# result), timeout, stdout (a path for stdout), env, rss_mb (peak RSS bound).

CASES = []


def case(name, cmd, rc, err=None, out=None, setup=None, check=None, teardown=None,
         timeout=TIMEOUT, stdout=None, env=None, rss_mb=None, max_s=None):
    CASES.append(dict(name=name, cmd=cmd, rc=rc, err=err, out=out, setup=setup, check=check,
                      teardown=teardown, timeout=timeout, stdout=stdout, env=env,
                      rss_mb=rss_mb, max_s=max_s))


# -- 0. the encoder: an unchanged file re-encoded by make_hostile.py is read by ser -------

def setup_enc_ckpt(x):
    mh.selftest([x.p("base", "last.ckpt")])
    craft(x, "base/last.ckpt", "enc-last.ckpt", lambda r: None)


def check_enc_ckpt(x, r):
    # the weights ser reads from the re-encoded file are those of the original
    for src in ("base/last.ckpt", "enc-last.ckpt"):
        r2 = x.run(["export", src, "--npz", src.replace("/", "-") + ".npz"])
        need(r2.rc == 0, "export failed:\n" + r2.show())
    a, b = (open(x.p(n), "rb").read() for n in ("base-last.ckpt.npz", "enc-last.ckpt.npz"))
    need(a == b,
         "the re-encoded checkpoint exports other weights")


case("c00_encoder_checkpoint", ["info", "enc-last.ckpt"], 0,
     out=r"train\.epoch\s+1\b", setup=setup_enc_ckpt, check=check_enc_ckpt)


def setup_enc_feat(x):
    craft(x, "tiny.features.serf", "enc.features.serf", lambda r: None)
    keep(x, "enc.features.serf")


case("c00_encoder_features", ["extract", "--data", "tiny", "--out", "enc.features.serf"], 0,
     err=rf"features up to date: enc\.features\.serf \({N} files",
     setup=setup_enc_feat, check=lambda x, r: unchanged(x, "enc.features.serf"))


# -- 1. checkpoints whose history or epoch do not fit, under --resume auto ------------------

def setup_history(x):
    run_copy(x, "r01h")

    def more_rows(r):
        r["history"] = np.concatenate([r["history"], r["history"]])
    craft(x, "base/last.ckpt", "r01h/last.ckpt", more_rows)
    keep(x, "r01h/last.ckpt")


case("c01_history_rows_beyond_epoch",
     ["train", "--data", "tiny", "--out", "r01h", "--resume", "auto", "--epochs", "3", "--quiet"],
     1, err=r"r01h/last\.ckpt.*history", setup=setup_history,
     check=lambda x, r: unchanged(x, "r01h/last.ckpt"))


def setup_epoch(x):
    run_copy(x, "r01e")

    def epoch5(r):
        r["train.epoch"] = mh.i64(5)
        r["history"] = np.repeat(r["history"], 5, axis=0)
    craft(x, "base/last.ckpt", "r01e/last.ckpt", epoch5)
    keep(x, "r01e/last.ckpt")


case("c01_epoch_beyond_epochs",
     ["train", "--data", "tiny", "--out", "r01e", "--resume", "auto", "--epochs", "3", "--quiet"],
     1, err=r"r01e/last\.ckpt.*\b5 epochs.*--epochs 3", setup=setup_epoch,
     check=lambda x, r: unchanged(x, "r01e/last.ckpt"))


# -- 2. outputs never replace what they do not own -----------------------------------------

def setup_nodes(x):
    if not os.path.lexists(x.p("node")):
        os.mknod(x.p("node"), stat.S_IFCHR | 0o644, os.makedev(1, 3))
        os.mkfifo(x.p("fifo"))
        with open(x.p("NOTES"), "w") as f:
            f.write("my notes: do not lose them\n")
        os.symlink("node", x.p("link-to-node"))
        shutil.copy(x.p("base", "last.ckpt"), x.p("other.ckpt"))
    keep(x, "node", "fifo", "NOTES", "link-to-node", "other.ckpt")


def all_kept(x, r):
    for n in x.v["keep"]:
        unchanged(x, n)
    no_tmp_left(x)


def c02(name, cmd, err):
    case(name, cmd, 1, err=err, setup=setup_nodes, check=all_kept, timeout=30)


c02("c02_extract_out_char_device", ["extract", "--data", "tiny", "--out", "node", "--quiet"],
    r"node: exists and is a character device: will not replace it")
c02("c02_extract_out_fifo", ["extract", "--data", "tiny", "--out", "fifo", "--quiet"],
    r"fifo: exists and is a FIFO: will not replace it")
c02("c02_extract_out_symlink_to_char_device",
    ["extract", "--data", "tiny", "--out", "link-to-node", "--quiet"],
    r"node: exists and is a character device: will not replace it")
c02("c02_extract_out_user_file", ["extract", "--data", "tiny", "--out", "NOTES", "--quiet"],
    r"NOTES: exists and is not a ser feature file")
c02("c02_features_npy_user_file",
    ["features", "tiny/OAF_angry/OAF_back_angry.wav", "--npy", "NOTES"],
    r"NOTES: exists and is not a \.npy file")
c02("c02_scan_skipped_csv_over_user_file", ["scan", "--skipped", "NOTES", "tiny"], r"NOTES")
c02("c02_export_npz_over_checkpoint", ["export", "base/best.ckpt", "--npz", "other.ckpt"],
    r"other\.ckpt: exists and is not a \.npz")


def setup_through(x):
    # a valid but stale feature file (another cache key) behind a symlink
    def stale(r):
        r["cache_key"] = mh.i64(int(r["cache_key"]) ^ 1)
    craft(x, "tiny.features.serf", "target.serf", stale)
    os.symlink("target.serf", x.p("link.serf"))


def check_through(x, r):
    need(os.path.islink(x.p("link.serf")) and os.readlink(x.p("link.serf")) == "target.serf",
         "link.serf is no longer the symlink to target.serf")
    want = feature_file(x, "tiny.features.serf")["cache_key"]
    need(feature_file(x, "target.serf")["cache_key"] == want,
         "target.serf was not updated through the link")
    no_tmp_left(x)


case("c02_extract_out_symlink_written_through",
     ["extract", "--data", "tiny", "--out", "link.serf"], 0, err=r"wrote link\.serf",
     setup=setup_through, check=check_through)


def setup_dangling(x):
    os.symlink("missing.serf", x.p("dangling.serf"))


def check_dangling(x, r):
    need(os.path.islink(x.p("dangling.serf")), "dangling.serf is no longer a symlink")
    need(not os.path.lexists(x.p("missing.serf")), "missing.serf was created")


case("c02_extract_out_dangling_symlink",
     ["extract", "--data", "tiny", "--out", "dangling.serf", "--quiet"], 1,
     err=r"dangling\.serf: a symbolic link to nothing", setup=setup_dangling,
     check=check_dangling)


# -- 3. run directories ------------------------------------------------------------------

def setup_running(x):
    p = x.spawn(["train", "--data", "tiny", "--out", "r03run", "--epochs", "1000000",
                 "--batch-size", "8", "--patience", "1000000", "--quiet"], "r03run.log")
    x.v["bg"] = p
    t0 = time.monotonic()
    while not os.path.exists(x.p("r03run", "last.ckpt")):
        need(p.poll() is None, "the background run ended early: " + open(x.p("r03run.log")).read())
        need(time.monotonic() - t0 < 40, "the background run wrote no checkpoint in 40 s")
        time.sleep(0.1)


def check_running(x, r):
    m = re.search(r"\(pid (\d+)\)", r.errs)
    need(m and int(m.group(1)) == x.v["bg"].pid,
         f"the message does not name the running ser's pid {x.v['bg'].pid}")
    # the same with --resume auto: it must not take over the running run's checkpoints
    r2 = x.run(["train", "--data", "tiny", "--out", "r03run", "--resume", "auto", "--epochs", "2",
                "--quiet"], timeout=30)
    need(r2.rc == 1 and "another ser run is using this directory" in r2.errs,
         "--resume auto into the running run's directory:\n" + r2.show())


def stop_bg(x):
    p = x.v.pop("bg", None)
    if p and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


case("c03_run_dir_in_use", ["train", "--data", "tiny", "--out", "r03run"] + EPOCH1, 1,
     err=r"r03run: another ser run is using this directory \(pid \d+\)",
     setup=setup_running, check=check_running, teardown=stop_bg, timeout=30)


def setup_notes_dir(x):
    os.makedirs(x.p("r03notes"))
    with open(x.p("r03notes", "notes.txt"), "w") as f:
        f.write("a user's notes\n")
    keep(x, "r03notes/notes.txt")


def check_notes_dir(x, r):
    unchanged(x, "r03notes/notes.txt")
    extra = [f for f in os.listdir(x.p("r03notes")) if f not in ("notes.txt", ".ser.lock")]
    need(not extra, f"files written into the user's directory: {extra}")


case("c03_run_dir_of_other_files", ["train", "--data", "tiny", "--out", "r03notes"] + EPOCH1, 1,
     err=r"r03notes: not empty and not a ser run directory", setup=setup_notes_dir,
     check=check_notes_dir)


def setup_resumable(x):
    for d in ("r03res", "r03over"):
        run_copy(x, d)
        # old checkpoints, distinguishable from new ones by their seed (valid CRCs)
        craft(x, "base/last.ckpt", d + "/last.ckpt", lambda r: r.update({"train.seed": mh.i64(7)}))
        shutil.copy(x.p(d, "last.ckpt"), x.p(d, "epoch-0007.ckpt"))
        shutil.copy(x.p(d, "last.ckpt"), x.p(d, "prev.ckpt"))
    keep(x, "r03res/last.ckpt", "r03res/epoch-0007.ckpt", "r03res/prev.ckpt",
         "r03res/best.ckpt")


case("c03_run_dir_resumable_without_resume",
     ["train", "--data", "tiny", "--out", "r03res"] + EPOCH1, 1,
     err=r"r03res: holds a run that can be resumed", setup=setup_resumable,
     check=lambda x, r: [unchanged(x, n) for n in x.v["keep"]])


def check_overwrite(x, r):
    left = sorted(f for f in os.listdir(x.p("r03over")) if f.endswith(".ckpt"))
    need("epoch-0007.ckpt" not in left and "prev.ckpt" not in left,
         f"old checkpoints survived --overwrite: {left}")
    need(int(feature_file(x, "r03over/last.ckpt")["train.seed"]) == 42,
         "last.ckpt is still the old run's")


case("c03_run_dir_overwrite",
     ["train", "--data", "tiny", "--out", "r03over", "--overwrite"] + EPOCH1, 0,
     check=check_overwrite)


def setup_committed(x):
    os.makedirs(x.p("r03committed"))
    for f in ("config.txt", "split.csv", "report.md"):
        shutil.copy(x.p("base", f), x.p("r03committed", f))


case("c03_run_dir_committed_style_reused",
     ["train", "--data", "tiny", "--out", "r03committed"] + EPOCH1, 0, setup=setup_committed,
     check=lambda x, r: need(os.path.isfile(x.p("r03committed", "last.ckpt")), "no last.ckpt"))


# -- 4. standard output that cannot be written -----------------------------------------------

def c04(name, cmd):
    case(name, cmd, 2, err=r"standard output", stdout="/dev/full", timeout=30)


c04("c04_predict_to_dev_full", ["predict", "--model", "base/best.ckpt", "tiny/OAF_angry"])
c04("c04_info_to_dev_full", ["info", "base/last.ckpt"])
c04("c04_scan_to_dev_full", ["scan", "tiny"])
c04("c04_scan_csv_to_dev_full", ["scan", "--csv", "tiny"])
c04("c04_features_csv_to_dev_full", ["features", "tiny/OAF_angry/OAF_back_angry.wav"])


# -- 5. finite but huge float samples -----------------------------------------------------

HUGE = ("huge/OAF_angry/OAF_hugea_angry.wav", "huge/YAF_sad/YAF_hugeb_sad.wav")


def setup_huge(x):
    if not os.path.isdir(x.p("huge")):
        copy_corpus(x, "huge")
        mh.write(x.p(HUGE[0]), mh.wav_kind("huge_1e30"))
        mh.write(x.p(HUGE[1]), mh.wav_kind("huge_3e38"))


def huge_skipped(x, feat):
    f = feature_file(x, feat)
    skipped = dict(zip(mh.get_strings(f["skipped_paths"]), mh.get_strings(f["skipped_reasons"])))
    for h in HUGE:
        need(re.search(r"non-finite features|sample values too large to analyse",
                       skipped.get(h, "")),
             f"{feat}: {h} is not skipped as unanalysable (skip list: {skipped})")
    need(len(mh.get_strings(f["paths"])) == N, f"{feat}: not the {N} other files")


case("c05_features_huge_1e30", ["features", HUGE[0]], 1,
     err=r"OAF_hugea_angry\.wav: non-finite features", setup=setup_huge)
case("c05_features_huge_3e38", ["features", HUGE[1]], 1,
     err=r"YAF_hugeb_sad\.wav: non-finite features", setup=setup_huge)


def check_scan_huge(x, r):
    listed = {row[0] for row in csv_rows(r.outs)[1:]}
    need(not set(HUGE) & listed, f"ser scan lists the huge-sample files as usable: {listed}")


# scan decodes every file: samples beyond 1e15 (whose spectrum overflows) are skipped there too
case("c05_scan_huge", ["scan", "--csv", "huge"], 0,
     err=r"skipped huge/OAF_angry/OAF_hugea_angry\.wav: .*sample values too large to analyse",
     setup=setup_huge, check=check_scan_huge)
case("c05_extract_huge", ["extract", "--data", "huge", "--out", "huge.serf"], 0,
     err=r"skipped: huge/OAF_angry/OAF_hugea_angry\.wav: (non-finite features|.*too large)(.|\n)*"
         r"skipped: huge/YAF_sad/YAF_hugeb_sad\.wav: (non-finite features|.*too large)",
     setup=setup_huge, check=lambda x, r: huge_skipped(x, "huge.serf"))


def check_train_huge(x, r):
    huge_skipped(x, "huge-train.serf")
    s = json.loads(open(x.p("r05", "summary.json"), "rb").read())
    need(s["skipped"] == 2 and s["files"] == N, f"summary.json: files {s['files']}, "
         f"skipped {s['skipped']}")


case("c05_train_huge",
     ["train", "--data", "huge", "--features", "huge-train.serf", "--out", "r05", "--epochs", "1",
      "--batch-size", "8"], 0, err=rf"{N} files \(.*; 2 skipped\)", setup=setup_huge,
     check=check_train_huge)


def check_predict_huge(x, r):
    rows = csv_rows(r.outs)
    names = [row[0] for row in rows[1:]]
    need(len(names) == 2 * WORDS and not set(HUGE) & set(names),
         f"expected the {2 * WORDS} other files predicted, got {names}")


case("c05_predict_huge", ["predict", "--model", "base/best.ckpt", "huge/OAF_angry", "huge/YAF_sad"],
     1, err=r"OAF_hugea_angry\.wav: .*(non-finite|too large)(.|\n)*YAF_hugeb_sad\.wav: .*(non-finite|too large)",
     setup=setup_huge, check=check_predict_huge)


# -- 6. summary.json with paths that look like numbers or are not UTF-8 -----------------------

def latin1_fallback(ex):
    return ex.object[ex.start:ex.end].decode("latin-1"), ex.end


codecs.register_error("hostile_latin1", latin1_fallback)


def c06(tag, name_bytes):
    name = os.fsdecode(name_bytes)
    run = "r06_" + tag

    def setup(x):
        copy_corpus(x, name)

    def check(x, r):
        raw = open(x.p(run, "summary.json"), "rb").read()
        try:
            s = json.loads(raw)
        except ValueError as ex:
            raise CheckFailed(f"summary.json is not valid JSON: {ex}")
        want = name_bytes.decode("utf-8", "hostile_latin1")
        got = s["config"]["data"]  # --data may repeat: a list of strings
        need(got == [want] and isinstance(got[0], str),
             f"config.data is {got!r}, expected the list of one string [{want!r}]")
        feat = s["config"]["features"]
        need(feat == want + ".features.serf", f"config.features is {feat!r}")

    case("c06_summary_json_data_" + tag, ["train", "--data", name, "--out", run] + EPOCH1, 0,
         setup=setup, check=check)


c06("0x10", b"0x10")
c06("007", b"007")
c06("2024.10", b"2024.10")
c06("latin1", b"caf\xe9-\xc3\xbc")          # a Latin-1 byte, then valid UTF-8


# -- 7. CSV fields with comma, quote, CR, LF --------------------------------------------------

ODD = ["OAF_a,b_angry.wav", 'OAF_q"t_angry.wav', "OAF_c\rr_angry.wav", "OAF_l\nf_angry.wav"]


def setup_csv(x):
    if not os.path.isdir(x.p("csvc")):
        copy_corpus(x, "csvc")
        for k, n in enumerate(ODD):
            src = sorted(os.listdir(x.p("tiny", "OAF_angry")))[k % WORDS]
            shutil.copy(x.p("tiny", "OAF_angry", src), x.p("csvc", "OAF_angry", n))


def expect_paths(x, rows, folder):
    names = [row[0] for row in rows[1:]]
    want = sorted(os.path.relpath(p, x.w) for p in wavs(x.p(folder)))
    need(sorted(names) == want, f"paths read back {sorted(names)!r}, expected {want!r}")


case("c07_predict_csv_odd_names", ["predict", "--model", "base/best.ckpt", "csvc/OAF_angry"], 0,
     setup=setup_csv, check=lambda x, r: expect_paths(x, csv_rows(r.outs), "csvc/OAF_angry"))
case("c07_scan_csv_odd_names", ["scan", "--csv", "csvc"], 0, setup=setup_csv,
     check=lambda x, r: expect_paths(x, csv_rows(r.outs), "csvc"))
case("c07_split_csv_odd_names", ["train", "--data", "csvc", "--out", "r07"] + EPOCH1, 0,
     setup=setup_csv,
     check=lambda x, r: expect_paths(
         x, csv_rows(open(x.p("r07", "split.csv"), newline="").read()), "csvc"))


# -- 8. WAV headers that lie ----------------------------------------------------------------

ODD_HDR = {"byte_rate": "hdr/OAF_angry/OAF_byterate_angry.wav",
           "block_align": "hdr/OAF_angry/OAF_blockalign_angry.wav",
           "streaming": "hdr/OAF_angry/OAF_streaming_angry.wav"}
TRUNC = "hdr/OAF_angry/OAF_truncated_angry.wav"
TRUNC_MSG = r"truncated: the header promises 33075 frames, the file holds 16537"


def setup_hdr(x):
    if os.path.isdir(x.p("hdr")):
        return
    copy_corpus(x, "hdr")
    for kind, path in ODD_HDR.items():
        mh.write(x.p(path), mh.wav_kind(kind))
    mh.write(x.p(TRUNC), mh.wav_kind("truncated"))


def check_scan_hdr(x, r):
    r2 = x.run(["scan", "--csv", "hdr"])
    listed = {row[0] for row in csv_rows(r2.outs)[1:]}
    need(set(ODD_HDR.values()) <= listed and TRUNC not in listed,
         f"scan --csv: the odd headers must be listed, the truncated file not: {sorted(listed)}")
    for path in ODD_HDR.values():
        if shutil.which("soxi"):
            s = subprocess.run(["soxi", x.p(path)], capture_output=True)
            need(s.returncode == 0, f"soxi cannot read {path}: {s.stderr!r}")


case("c08_scan_odd_headers", ["scan", "hdr"], 0,
     out=r"1 skipped(.|\n)*OAF_truncated_angry\.wav: " + TRUNC_MSG, setup=setup_hdr,
     check=check_scan_hdr)


def check_extract_hdr(x, r):
    f = feature_file(x, "hdr.serf")
    paths = mh.get_strings(f["paths"])
    r2 = x.run(["features", "good.wav", "--npy", "good.npy"])
    need(r2.rc == 0, "ser features good.wav failed:\n" + r2.show())
    ref = np.load(x.p("good.npy"))
    for kind, path in ODD_HDR.items():
        need(path in paths, f"{path} ({kind}) was not extracted")
        got = f["features"][paths.index(path)]
        need(np.array_equal(got, ref), f"{path} ({kind}): features differ from the same samples "
             f"with a correct header (max diff {np.max(np.abs(got - ref))})")


case("c08_extract_odd_headers", ["extract", "--data", "hdr", "--out", "hdr.serf"], 0,
     err=r"skipped: hdr/OAF_angry/OAF_truncated_angry\.wav: " + TRUNC_MSG, setup=setup_hdr,
     check=check_extract_hdr)


# -- 9. split sizes are printed -----------------------------------------------------------

def check_split_sizes(x, r):
    m = re.search(r"(\d+) files \(train (\d+), val (\d+), test (\d+)", r.errs)
    need(m and int(m.group(1)) == N and sum(map(int, m.groups()[1:])) == N,
         f"the split sizes do not add up to {N}")


case("c09_train_prints_split_sizes",
     ["train", "--data", "tiny", "--out", "r09", "--epochs", "1", "--batch-size", "8"], 0,
     err=rf"{N} files \(train \d+, val \d+, test \d+", check=check_split_sizes)


# -- 10. classes -----------------------------------------------------------------------------

case("c10_one_class", ["train", "--data", "one", "--out", "r10one"] + EPOCH1, 1,
     err=r"one: the training set holds 1 class: a classifier needs at least 2",
     setup=lambda x: copy_corpus(x, "one", {"OAF_angry", "YAF_angry"}))
# sad exists only for YAF, which is the test speaker: no training file for sad, so no class
# could ever predict it: refused (issue "Beyond TESS"), naming the label and the way out
case("c10_class_missing_in_training",
     ["train", "--data", "miss", "--out", "r10miss", "--split", "speaker:YAF"] + EPOCH1, 1,
     err=r"label sad has 0 validation and \d+ test files but no training file.*--labels",
     setup=lambda x: copy_corpus(x, "miss", {"OAF_angry", "YAF_angry", "OAF_happy", "YAF_happy",
                                             "YAF_sad"}))


# -- 11. a mid-epoch checkpoint resumed with another batch size ------------------------------

def setup_mid(x):
    # SER_FAULT_SIGNAL_BATCH=K raises SIGUSR1 before global batch K (0-based, counted over
    # epochs); K = batches per epoch + 1 stops the run in epoch 2 after its second batch.
    split = csv_rows(open(x.p("base", "split.csv"), newline="").read())[1:]
    per_epoch = -(-sum(row[3] == "train" for row in split) // 8)
    r = x.run(["train", "--data", "tiny", "--out", "r11", "--epochs", "3", "--batch-size", "8",
               "--quiet"], env={"SER_FAULT_SIGNAL_BATCH": str(per_epoch + 1)})
    need(r.rc == 75, "the interrupted run did not exit 75:\n" + r.show())
    need(int(feature_file(x, "r11/last.ckpt")["train.batch"]) > 0,
         "the interrupted run's checkpoint is not mid-epoch")
    keep(x, "r11/last.ckpt")


case("c11_mid_epoch_resume_other_batch_size",
     ["train", "--out", "r11", "--resume", "auto", "--epochs", "3", "--batch-size", "16",
      "--quiet"], 1, err=r"r11/last\.ckpt: stopped in the middle of an epoch with --batch-size 8",
     setup=setup_mid, check=lambda x, r: unchanged(x, "r11/last.ckpt"))


# -- 12. feature files with the right cache key but wrong content -----------------------------

def same_as_base(x, name):
    a, b = feature_file(x, "tiny.features.serf"), feature_file(x, name)
    for k in ("features", "labels", "paths", "speakers", "n_skipped", "cache_key"):
        need(np.array_equal(a[k], b[k]), f"{name}: {k} differs from a clean extraction")


def c12(tag, change, rss_mb=None, stderr=r"ignoring feature file.*f12_TAG\.serf"):
    name = f"f12_{tag}.serf"

    def setup(x):
        craft(x, "tiny.features.serf", name, change)

    case("c12_feature_file_" + tag, ["extract", "--data", "tiny", "--out", name], 0,
         err=stderr.replace("TAG", tag) + rf"(.|\n)*extracted {N} files", setup=setup,
         check=lambda x, r: same_as_base(x, name), rss_mb=rss_mb)


def label_changed(r):
    r["labels"][0] = (r["labels"][0] + 1) % 7


def speaker_changed(r):
    sp = mh.get_strings(r["speakers"])
    sp[0] = "ZZZ" if sp[0] != "ZZZ" else "YYY"
    r["speakers"] = mh.string_list(sp)


def path_duplicated(r):
    p = mh.get_strings(r["paths"])
    p[1] = p[0]
    r["paths"] = mh.string_list(p)


N_SKIP = 4_000_000     # 4 M empty skip entries: an 8 MB payload (a 20 KB file)


def many_skipped(r):
    r["n_skipped"] = mh.i64(N_SKIP)
    r["skipped_paths"] = np.zeros(N_SKIP, np.uint8)
    r["skipped_reasons"] = np.zeros(N_SKIP, np.uint8)


c12("label_changed", label_changed)
c12("speaker_changed", speaker_changed)
c12("path_duplicated", path_duplicated)
c12("n_skipped_huge_empty_strings", many_skipped, rss_mb=200)
c12("n_skipped_beyond_strings", lambda r: r.update({"n_skipped": mh.i64(10**8)}))
c12("n_skipped_negative", lambda r: r.update({"n_skipped": mh.i64(-(2**62))}))


def setup_train_label(x):
    craft(x, "tiny.features.serf", "f12_train.serf", label_changed)


def check_train_label(x, r):
    same_as_base(x, "f12_train.serf")
    a = json.loads(open(x.p("base", "summary.json"), "rb").read())
    b = json.loads(open(x.p("r12", "summary.json"), "rb").read())
    for k in ("test_accuracy", "test_loss", "confusion"):
        need(a[k] == b[k], f"summary.json {k}: {b[k]} differs from the clean run's {a[k]}")


case("c12_train_with_label_changed_features",
     ["train", "--data", "tiny", "--features", "f12_train.serf", "--out", "r12", "--epochs", "1",
      "--batch-size", "8"], 0, err=r"ignoring feature file.*f12_train\.serf",
     setup=setup_train_label, check=check_train_label)


# -- 13. crafted checkpoints (valid CRCs) ----------------------------------------------------

def c13(tag, change, err, cmds=("info", "predict")):
    name = f"ck13_{tag}.ckpt"

    def setup(x):
        if not os.path.exists(x.p(name)):
            craft(x, "base/last.ckpt", name, change)

    for c in cmds:
        cmd = (["info", name] if c == "info" else
               ["predict", "--model", name, "tiny/OAF_angry/OAF_back_angry.wav"] if c == "predict"
               else ["export", name, "--npz", f"ck13_{tag}.npz"])
        case(f"c13_{c}_{tag}", cmd, 1, err=re.escape(name) + ": " + err, setup=setup,
             check=lambda x, r, t=tag: need(not os.path.exists(x.p(f"ck13_{t}.npz")),
                                            "an export was written"),
             timeout=30)


def nan_weight(r):
    r["param.fc2.bias"][0] = np.nan


def first_weight_inf(r):
    k = next(k for k in r if k.startswith("param."))
    r[k].flat[0] = np.inf


c13("nan_weight", nan_weight, r".*param\.", ("info", "predict", "export"))
c13("inf_weight", first_weight_inf, r".*param\.", ("info",))
c13("std_inf", lambda r: r["norm.std"].__setitem__(3, np.inf), r".*norm\.std", ("info", "predict"))
c13("std_zero", lambda r: r["norm.std"].__setitem__(3, 0.0), r".*std", ("info", "predict"))
c13("mean_nan", lambda r: r["norm.mean"].__setitem__(0, np.nan), r".*norm\.mean", ("info",))
c13("adam_lr_zero", lambda r: r.update({"adam.lr": mh.f64(0.0)}), r".*adam\.lr", ("info",))
c13("es_best_nan", lambda r: r.update({"es.best": mh.f64(np.nan)}), r".*es\.best", ("info",))
c13("train_batch_1e12", lambda r: r.update({"train.batch": mh.i64(10**12)}), r".*train\.batch",
    ("info",))
c13("adam_moment_inf", lambda r: r["adam.v"].__setitem__(5, np.inf), r".*adam\.v", ("info",))


SECRET = "SECRET_FIRST_LINE_of_a_user_file"


def setup_spec_file(x):
    with open(x.p("secret.txt"), "w") as f:
        f.write(SECRET + "\nmore\n")
    craft(x, "base/last.ckpt", "ck13_spec_file.ckpt",
          lambda r: r.update({"spec": mh.string(x.p("secret.txt"))}))


def check_no_secret(x, r):
    need(SECRET not in r.errs + r.outs, "the message shows the named file's content")


for c in ("info", "predict"):
    case(f"c13_{c}_spec_names_a_file",
         ["info", "ck13_spec_file.ckpt"] if c == "info" else
         ["predict", "--model", "ck13_spec_file.ckpt", "tiny/OAF_angry/OAF_back_angry.wav"], 1,
         err=r"ck13_spec_file\.ckpt: .*token 1 '[^']*secret\.txt'", setup=setup_spec_file,
         check=check_no_secret, timeout=30)


def setup_root(x):
    run_copy(x, "r13root")

    def data_root(r):
        lines = mh.get_string(r["config"]).splitlines()
        out = []
        for ln in lines:
            if ln.startswith("data ="):
                ln = "data = /"
            elif ln.startswith("features ="):
                ln = f'features = "{x.p("r13root.features.serf")}"'
            out.append(ln)
        r["config"] = mh.string("\n".join(out) + "\n")
    craft(x, "base/last.ckpt", "r13root/last.ckpt", data_root)
    keep(x, "r13root/last.ckpt")
    x.v["root_feat_before"] = os.path.lexists("/.features.serf")


def check_root(x, r):
    unchanged(x, "r13root/last.ckpt")
    need(not os.path.exists(x.p("r13root.features.serf")), "a feature file of / was written")
    if not x.v["root_feat_before"] and os.path.lexists("/.features.serf"):
        os.unlink("/.features.serf")       # made by this run of ser: remove it again
        raise CheckFailed("/.features.serf was written")
    need(not re.search(r"extracted \d+ files", r.errs), "features were extracted before refusing")


case("c13_resume_stored_data_root", ["train", "--out", "r13root", "--resume", "auto", "--epochs",
                                     "2"], 1,
     err=r"not the corpus this run was trained on", setup=setup_root, check=check_root)


# -- 14. FIFOs where a file is read ---------------------------------------------------------

def setup_fifo(x):
    if not os.path.lexists(x.p("f14")):
        os.mkfifo(x.p("f14"))
    keep(x, "f14")


def still_fifo(x, r):
    unchanged(x, "f14")


def c14(name, cmd, rc, err):
    case(name, cmd, rc, err=err, setup=setup_fifo, check=still_fifo, timeout=20)


c14("c14_info_fifo", ["info", "f14"], (1, 2), r"f14: .*(not a regular file|FIFO)")
c14("c14_predict_model_fifo", ["predict", "--model", "f14", "tiny/OAF_angry"], (1, 2),
    r"f14: .*(not a regular file|FIFO)")
c14("c14_export_fifo", ["export", "f14", "--npz", "f14.npz"], (1, 2),
    r"f14: .*(not a regular file|FIFO)")
c14("c14_train_features_fifo",
    ["train", "--data", "tiny", "--features", "f14", "--out", "r14feat"] + EPOCH1, (0, 1),
    r"f14: .*(not a regular file|FIFO)")
c14("c14_train_config_fifo", ["train", "--config", "f14", "--out", "r14cfg"] + EPOCH1, 1,
    r"f14: .*(not a regular file|FIFO)")
c14("c14_train_resume_fifo", ["train", "--data", "tiny", "--resume", "f14", "--out", "r14res"]
    + EPOCH1, (1, 2), r"f14: .*(not a regular file|FIFO)")
c14("c14_summary_model_fifo", ["summary", "--model", "f14"], 1, r"f14")
c14("c14_scan_fifo", ["scan", "f14"], (1, 2), r"f14")


def setup_fifo_wav(x):
    os.makedirs(x.p("fifowav", "OAF_angry"))
    shutil.copy(x.p("tiny", "OAF_angry", sorted(os.listdir(x.p("tiny", "OAF_angry")))[0]),
                x.p("fifowav", "OAF_angry"))
    os.mkfifo(x.p("fifowav", "OAF_angry", "OAF_fifo_angry.wav"))
    keep(x, "fifowav/OAF_angry/OAF_fifo_angry.wav")


case("c14_features_of_fifo_wav", ["features", "fifowav/OAF_angry/OAF_fifo_angry.wav"], (1, 2),
     err=r"OAF_fifo_angry\.wav", setup=setup_fifo_wav, timeout=20,
     check=lambda x, r: unchanged(x, "fifowav/OAF_angry/OAF_fifo_angry.wav"))
case("c14_predict_fifo_wav", ["predict", "--model", "base/best.ckpt",
                              "fifowav/OAF_angry/OAF_fifo_angry.wav"], (1, 2),
     err=r"OAF_fifo_angry\.wav", timeout=20)
case("c14_extract_corpus_with_fifo_wav", ["extract", "--data", "fifowav", "--out", "fifowav.serf"],
     0, timeout=20)


def setup_fifo_last(x):
    run_copy(x, "r14last", drop=("last.ckpt",))
    os.mkfifo(x.p("r14last", "last.ckpt"))
    keep(x, "r14last/last.ckpt")


case("c14_fifo_named_last_ckpt_resume_auto",
     ["train", "--data", "tiny", "--out", "r14last", "--resume", "auto", "--epochs", "2",
      "--quiet"],
     (1, 2), err=r"r14last/last\.ckpt: .*(not a regular file|FIFO)", setup=setup_fifo_last,
     timeout=30, check=lambda x, r: unchanged(x, "r14last/last.ckpt"))


# -- 15. a model too large for memory --------------------------------------------------------

BIG = "flatten dense:65536 dense:65536 dense:7"
case("c15_train_model_too_large", ["train", "--data", "tiny", "--out", "r15", "--model", BIG]
     + EPOCH1, 1, err=r"needs an estimated [0-9.]+ GB", rss_mb=300, timeout=30, max_s=15)
case("c15_summary_model_too_large", ["summary", "--model", BIG], 1,
     err=r"needs an estimated [0-9.]+ GB", rss_mb=300, timeout=30, max_s=10)


# -- 16. configuration files ------------------------------------------------------------------

def c16(name, cfg, rc, err, content=None, check=None):
    def setup(x):
        if content is not None:
            with open(x.p(cfg), "wb") as f:
                f.write(content)
        elif cfg == "cfgdir":
            os.makedirs(x.p(cfg))

    def no_run_dir(x, r):
        need(not os.path.exists(x.p("r16" + name)), "a run directory was made")

    case("c16_config_" + name,
         ["train", "--config", cfg, "--data", "tiny", "--out", "r16" + name, "--quiet"], rc,
         err=err, setup=setup, check=check or no_run_dir, timeout=30, max_s=20)


c16("dev_zero", "/dev/zero", 1, r"/dev/zero: not a regular file")
c16("directory", "cfgdir", 1, r"cfgdir: .*not a regular file")
c16("nul_byte", "nul.cfg", 1, r"nul\.cfg: .*NUL", b"epochs = 1\n\0\nlr = banana\n")


def check_bom(x, r):
    cfg = open(x.p("r16bom", "config.txt")).read()
    need(re.search(r"^epochs = 1$", cfg, re.M) and re.search(r"^batch-size = 8$", cfg, re.M),
         "the settings of the BOM config were not applied:\n" + cfg)


c16("bom", "bom.cfg", 0, None, b"\xef\xbb\xbfepochs = 1\nbatch-size = 8\n", check=check_bom)
# The line limit is 16,640 bytes: room for a 4,095-byte value written with \xHH escapes by
# config.txt, so a stored configuration always reads back.
c16("long_line", "long.cfg", 1, r"long\.cfg:1: line longer than 16640 bytes",
    b"# " + b"x" * 16700 + b"\nepochs = 1\n")
# (whatever the limit: a 64 KiB line is refused with a message, never cut or overflowed)
c16("line_of_64k", "vlong.cfg", 1, r"vlong\.cfg:2: line longer than \d+ bytes",
    b"epochs = 1\n# " + b"y" * 65536 + b"\n")
c16("two_megabytes", "big.cfg", 1, r"big\.cfg: too large",
    b"# filler line of a large configuration file\n" * 48000 + b"epochs = 1\n")


# -- 17. --data values that need quoting in config.txt ---------------------------------------

def c17(tag, name):
    run = "r17" + tag

    def setup(x):
        copy_corpus(x, name)

    def check(x, r):
        cfg = open(x.p(run, "config.txt"), encoding="utf-8", errors="replace").read()
        need(cfg.startswith("data = \""), "config.txt does not quote the data value:\n" + cfg[:200])
        r2 = x.run(["train", "--out", run, "--resume", "auto", "--epochs", "2", "--quiet"])
        need(r2.rc == 0, "--resume auto --epochs 2:\n" + r2.show())
        rows = open(x.p(run, "metrics.tsv")).read().splitlines()
        need(len(rows) == 3, f"metrics.tsv has {len(rows) - 1} epochs, expected 2")
        s = json.loads(open(x.p(run, "summary.json"), "rb").read())
        need(s["config"]["data"] == [name], f"summary.json config.data {s['config']['data']!r}")

    case("c17_data_path_" + tag, ["train", "--data", name, "--out", run] + EPOCH1, 0,
         setup=setup, check=check)


c17("hash", "c#17")
c17("trailing_space", "c17 ")
c17("newline", "c17\nnl")


# -- 18. predict on an empty directory ------------------------------------------------------

case("c18_predict_empty_dir", ["predict", "--model", "base/best.ckpt", "empty"], 0,
     setup=lambda x: os.makedirs(x.p("empty")),
     check=lambda x, r: need(r.out == b"path,label,p_angry,p_disgust,p_fear,p_happy,p_neutral,"
                                      b"p_sad,p_surprise\n", f"stdout is {r.out!r}"))


# -- 19. predict on a tree with a dangling link and a deep nest; a huge batch ------------------

def setup_tree(x):
    os.makedirs(x.p("p19"))
    src = sorted(os.listdir(x.p("tiny", "OAF_angry")))
    shutil.copy(x.p("tiny", "OAF_angry", src[0]), x.p("p19", "OAF_one_angry.wav"))
    shutil.copy(x.p("tiny", "OAF_angry", src[1]), x.p("p19", "OAF_two_angry.wav"))
    os.symlink("nowhere/OAF_gone_angry.wav", x.p("p19", "OAF_dangling_angry.wav"))
    deep = x.p("p19", "deep", *[f"d{i}" for i in range(1, 71)])
    os.makedirs(deep)
    shutil.copy(x.p("tiny", "OAF_angry", src[2]), os.path.join(deep, "OAF_deep_angry.wav"))


def check_tree(x, r):
    names = [row[0] for row in csv_rows(r.outs)[1:]]
    need(names == ["p19/OAF_one_angry.wav", "p19/OAF_two_angry.wav"],
         f"predicted {names}, expected the two readable files")


case("c19_predict_dangling_link_and_deep_tree", ["predict", "--model", "base/best.ckpt", "p19"], 1,
     err=r"skipped p19/OAF_dangling_angry\.wav(.|\n)*skipped p19/deep/d1/.*nested too deeply",
     setup=setup_tree, check=check_tree)
case("c19_train_batch_65536_micro_1",
     ["train", "--data", "tiny", "--out", "r19", "--deterministic", "--micro-batch", "1",
      "--batch-size", "65536", "--epochs", "1", "--quiet"], 0, rss_mb=500,
     check=lambda x, r: need("out of memory" not in r.errs, "out of memory"))


# ---------------------------------------------------------------------------------------

def prepare_workdir(work):
    if os.path.lexists(work):
        need(os.path.isdir(work) and not os.path.islink(work), f"{work}: not a directory")
        need(not os.listdir(work) or os.path.exists(os.path.join(work, MARKER)),
             f"{work}: not empty and not a previous hostile work directory: will not delete it")
        shutil.rmtree(work)
    os.makedirs(work)
    open(os.path.join(work, MARKER), "w").close()


def run_case(x, c):
    x.results = []
    x.v["keep"] = {}
    fails = []
    try:
        if c["setup"]:
            c["setup"](x)
    except Exception as ex:  # noqa: BLE001 - any setup failure fails the case
        return [f"setup failed: {type(ex).__name__}: {ex}"], []
    try:
        cmd = [a.format(**x.v) if isinstance(a, str) and "{" in a else a for a in c["cmd"]]
        r = x.run(cmd, timeout=c["timeout"], stdout=c["stdout"], env=c["env"],
                  measure_rss=c["rss_mb"] is not None)
        rcs = c["rc"] if isinstance(c["rc"], tuple) else (c["rc"],)
        if r.rc not in rcs:
            fails.append(f"exit status {r.rc}, expected {' or '.join(map(str, rcs))}")
        if c["err"] and not re.search(c["err"], r.errs):
            fails.append(f"stderr does not match /{c['err']}/")
        if c["out"] and not re.search(c["out"], r.outs):
            fails.append(f"stdout does not match /{c['out']}/")
        if c["rss_mb"] is not None and r.rss_kb and r.rss_kb > c["rss_mb"] * 1024:
            fails.append(f"peak RSS {r.rss_kb // 1024} MB, more than {c['rss_mb']} MB")
        if c["max_s"] is not None and r.seconds > c["max_s"]:
            fails.append(f"took {r.seconds:.1f} s, more than {c['max_s']} s")
        if c["check"]:
            try:
                c["check"](x, r)
            except CheckFailed as ex:
                fails.append(str(ex))
            except Exception as ex:  # noqa: BLE001
                fails.append(f"check failed: {type(ex).__name__}: {ex}")
    finally:
        if c["teardown"]:
            try:
                c["teardown"](x)
            except Exception as ex:  # noqa: BLE001
                fails.append(f"teardown failed: {ex}")
    for res in x.results:
        fails += [f"{p} (in: {' '.join(map(os.fsdecode, res.argv[1:3]))} ...)"
                  for p in res.problems]
    return fails, x.results


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ser")
    ap.add_argument("corpus")
    ap.add_argument("workdir")
    ap.add_argument("--only", help="run the cases whose name matches this regex")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--verbose", action="store_true", help="show every command and its output")
    a = ap.parse_args(argv)
    if a.list:
        for c in CASES:
            print(c["name"])
        return 0
    ser, work = os.path.abspath(a.ser), os.path.abspath(a.workdir)
    x = Ctx(ser, os.path.abspath(a.corpus), work, a.verbose)
    t0 = time.monotonic()
    prepare_workdir(work)
    try:
        fixtures(x)
    except CheckFailed as ex:
        print(f"hostile: FIXTURES FAILED: {ex}\n(the cases still run, and fail)")
    setup_results = list(x.results)
    for r in setup_results:
        if r.problems:
            print(f"hostile: fixture command problem: {r.problems}\n{r.show()}")
    failed, notes = [], []
    selected = [c for c in CASES if not a.only or re.search(a.only, c["name"])]
    for c in selected:
        t = time.monotonic()
        x.v.pop("note", None)
        fails, results = run_case(x, c)
        dt = time.monotonic() - t
        if fails:
            failed.append(c["name"])
            print(f"FAIL {c['name']} ({dt:.1f} s)")
            for f in fails:
                print(f"  - {f}")
            for res in results:
                print(res.show())
        else:
            print(f"ok   {c['name']} ({dt:.1f} s)")
        if x.v.get("note"):
            notes.append(f"{c['name']}: {x.v['note']}")
        sys.stdout.flush()
    total = time.monotonic() - t0
    for n in notes:
        print(f"note: {n}")
    print(f"hostile: {len(selected) - len(failed)} of {len(selected)} cases passed in "
          f"{total:.0f} s with {ser}")
    if failed:
        print("hostile: failed: " + " ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
