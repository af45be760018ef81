"""A real single-node SLURM for the tests: install it, configure it, start and stop its daemons.

munged (as the munge user), slurmctld and slurmd are started directly in the foreground, without
systemd, and stopped by the PIDs this module started, pass or fail. The configuration is written to
/etc/slurm/slurm.conf because the Snakemake SLURM executor strips ``SLURM_*`` variables (so
``SLURM_CONF``) before its inner ``srun``; existing files there (slurm.conf, gres.conf) are
backed up and restored. The node can advertise more CPUs than the machine has, and stand-in
GPUs, so that scheduling of CPU, memory and GPU requests is exercised on any machine.
There is no slurmdbd, so ``sacct`` cannot answer: jobs are followed with ``squeue``, which keeps
finished jobs for ``MinJobAge`` (300 s by default, left as is).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

SLURM_CONF = Path("/etc/slurm/slurm.conf")
GRES_CONF = SLURM_CONF.with_name("gres.conf")
# Stand-ins for GPU device files: SLURM counts and hands out "GPUs" by file (no cgroups here,
# so nothing is opened); a job asking for GPUs gets CUDA_VISIBLE_DEVICES like on a GPU node.
FAKE_GPU_FILES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/urandom")
MUNGE_DIR = Path("/run/munge")
MUNGE_KEY = Path("/etc/munge/munge.key")
DEBIAN_PACKAGES = ("slurm-wlm", "munge")
PROGRAMS = ("munged", "munge", "unmunge", "slurmctld", "slurmd", "sbatch", "srun", "squeue",
            "scancel", "sinfo", "scontrol")
PORTS = {"slurmctld": 6817, "slurmd": 6818}
# Test runs by several users of one machine share /etc/slurm and the ports: one at a time.
LOCK_FILE = Path(tempfile.gettempdir()) / "companion-slurm-test.lock"
SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])


def which(program: str) -> str | None:
    return shutil.which(program, path=SBIN_PATH)


def missing_programs() -> list[str]:
    return [p for p in PROGRAMS if which(p) is None]


def install_packages(timeout: float = 300) -> str | None:
    """``apt-get install slurm-wlm munge``; None on success, else why it failed."""
    apt = shutil.which("apt-get")
    if apt is None:
        return "apt-get is not available"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", *DEBIAN_PACKAGES]):
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(cmd)}` did not finish in {timeout:.0f} s"
        if proc.returncode != 0:
            return f"`{' '.join(cmd)}` failed: {proc.stderr.strip()[-500:]}"
    return None


def unavailable_reason(install: bool = True) -> str | None:
    """Why a real SLURM cannot be started here (None when it can), after installing the Debian
    packages when root, apt-get is present and ``install`` is set."""
    if not sys.platform.startswith("linux"):
        return f"a single-node SLURM needs Linux, this is {sys.platform}"
    if os.geteuid() != 0:
        return (f"needs root (to write {SLURM_CONF} and start munged, slurmctld and slurmd); "
                f"running as uid {os.geteuid()}")
    missing = missing_programs()
    if missing and install:
        failure = install_packages()
        missing = missing_programs()
        if missing:
            return (f"missing programs {', '.join(missing)}; installing the Debian packages "
                    f"{' '.join(DEBIAN_PACKAGES)} failed: {failure or 'they were not provided'}")
    if missing:
        return (f"missing programs {', '.join(missing)} (Debian packages "
                f"{' '.join(DEBIAN_PACKAGES)}: apt-get install {' '.join(DEBIAN_PACKAGES)})")
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "the munge user does not exist (reinstall the Debian package munge)"
    if not MUNGE_KEY.exists():
        return f"{MUNGE_KEY} is missing (create it with `mungekey --create`)"
    return None


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


@contextlib.contextmanager
def exclusive(timeout: float = 900) -> Iterator[None]:
    """Hold the machine-wide lock for a test cluster (waits for another run to finish)."""
    with open(LOCK_FILE, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another test cluster held {LOCK_FILE} for "
                                       f"{timeout:.0f} s") from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def node_line(min_cpus: int = 0) -> str:
    """This machine as a SLURM node, as slurmd itself sees it (``slurmd -C``), advertising at
    least ``min_cpus`` CPUs (slurm.conf then needs ``SlurmdParameters=config_overrides``)."""
    out = subprocess.run([which("slurmd") or "slurmd", "-C"], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("NodeName="))
    fields = dict(item.split("=", 1) for item in line.split())
    # The node is reached on the loopback address, whether or not its name resolves.
    if int(fields["CPUs"]) >= min_cpus:
        return f"{line.strip()} NodeAddr=127.0.0.1 State=UNKNOWN"
    return (f"NodeName={fields['NodeName']} NodeAddr=127.0.0.1 CPUs={min_cpus} "
            f"RealMemory={fields['RealMemory']} State=UNKNOWN")


HEADER = "# Written by the companion's cluster test; restored when the test ends."


def gres_conf(gpus: int) -> str:
    lines = [HEADER, "AutoDetect=off"]
    return "\n".join(lines + [f"Name=gpu File={f}" for f in FAKE_GPU_FILES[:gpus]]) + "\n"


def slurm_conf(state: Path, node: str, gpus: int = 0) -> str:
    host = node.split()[0].split("=", 1)[1]
    if gpus:
        node = node.replace(" State=", f" Gres=gpu:{gpus} State=")
    return "\n".join([
        HEADER,
        "ClusterName=companion-test",
        f"SlurmctldHost={host}(127.0.0.1)",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"StateSaveLocation={state}/ctld",
        f"SlurmdSpoolDir={state}/spool",
        f"SlurmctldPidFile={state}/slurmctld.pid",
        f"SlurmdPidFile={state}/slurmd.pid",
        f"SlurmctldLogFile={state}/slurmctld.log",
        f"SlurmdLogFile={state}/slurmd.log",
        f"SlurmctldPort={PORTS['slurmctld']}",
        f"SlurmdPort={PORTS['slurmd']}",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "MpiDefault=none",
        *(["GresTypes=gpu"] if gpus else []),
        "ReturnToService=2",
        "DefMemPerCPU=1000",
        "SlurmctldTimeout=30",
        "SlurmdTimeout=30",
        "KillWait=5",
        # A node line with more CPUs than slurmd counts is taken as written, not drained.
        "SlurmdParameters=config_overrides",
        node,
        "PartitionName=companion Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


class SlurmCluster:
    """munged + slurmctld + slurmd on this machine, state and logs under ``state``; the node
    advertises at least ``min_cpus`` CPUs and ``gpus`` stand-in GPUs."""

    def __init__(self, state: Path, min_cpus: int = 0, gpus: int = 0) -> None:
        if gpus > len(FAKE_GPU_FILES):
            raise ValueError(f"at most {len(FAKE_GPU_FILES)} stand-in GPUs")
        self.state = state
        self.min_cpus = min_cpus
        self.gpus = gpus
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._replaced: dict[Path, bytes | None] = {}  # file -> its content before (None: absent)
        self._made_dirs: list[Path] = []
        self._munge_tmp: Path | None = None

    # -- starting -------------------------------------------------------------------------------
    def start(self, timeout: float = 30) -> None:
        for name, port in PORTS.items():
            if port_in_use(port):
                raise ClusterUnavailable(f"port {port} is in use: a {name} (or something else) "
                                         "already runs on this machine")
        (self.state / "ctld").mkdir(parents=True, exist_ok=True)
        (self.state / "spool").mkdir(parents=True, exist_ok=True)
        if not self._munge_answers():
            self._start_munged(timeout)
        self._write_conf()
        self._spawn("slurmctld", [which("slurmctld"), "-D", "-i"])
        self._wait(lambda: self._run("scontrol", "ping").stdout.find("is UP") >= 0,
                   timeout, "slurmctld to answer `scontrol ping`")
        self._spawn("slurmd", [which("slurmd"), "-D"])
        self._wait(lambda: self.node_state() in {"idle", "mixed", "allocated"}, timeout,
                   "the node to become idle")

    def _munge_answers(self) -> bool:
        munge, unmunge = which("munge"), which("unmunge")
        try:
            cred = subprocess.run([munge, "-n"], capture_output=True, timeout=5)
            if cred.returncode != 0:
                return False
            back = subprocess.run([unmunge], input=cred.stdout, capture_output=True, timeout=5)
        except subprocess.TimeoutExpired:
            return False
        return back.returncode == 0

    def _start_munged(self, timeout: float) -> None:
        munge = pwd.getpwnam("munge")
        if not MUNGE_DIR.exists():
            MUNGE_DIR.mkdir(mode=0o755, parents=True)
            self._made_dirs.append(MUNGE_DIR)
        os.chown(MUNGE_DIR, munge.pw_uid, munge.pw_gid)
        # munged refuses log and seed files in directories others can write to or enter.
        self._munge_tmp = Path(tempfile.mkdtemp(prefix="companion-munge-"))
        os.chown(self._munge_tmp, munge.pw_uid, munge.pw_gid)
        tmp = self._munge_tmp
        self._spawn("munged", [which("munged"), "--foreground", f"--log-file={tmp}/munged.log",
                               f"--seed-file={tmp}/munged.seed", f"--pid-file={tmp}/munged.pid"],
                    user=munge.pw_uid, group=munge.pw_gid)
        self._wait(self._munge_answers, timeout, "munged to answer `munge -n | unmunge`")

    def _write_conf(self) -> None:
        self._replace(SLURM_CONF, slurm_conf(self.state, node_line(self.min_cpus), self.gpus))
        if self.gpus or GRES_CONF.exists():  # a site's gres.conf would not fit this node
            self._replace(GRES_CONF, gres_conf(self.gpus))

    def _replace(self, path: Path, text: str) -> None:
        if not path.parent.exists():
            path.parent.mkdir(parents=True)
            self._made_dirs.append(path.parent)
        before = path.read_bytes() if path.exists() else None
        if before is not None and before.startswith(HEADER.encode()):
            before = None  # left by a test run that was killed: not the machine's own
        self._replaced.setdefault(path, before)
        (self.state / path.name).write_text(text)
        path.write_text(text)

    def _spawn(self, name: str, cmd: list[str | None], **kwargs) -> None:
        out = open(self.state / f"{name}.out", "wb")  # noqa: SIM115 - lives as long as the daemon
        try:
            self.procs[name] = subprocess.Popen([str(c) for c in cmd], stdout=out,
                                                stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, **kwargs)
        finally:
            out.close()

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited while waiting for {what}:\n"
                                   f"{self.logs()}")
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}:\n{self.logs()}")

    # -- asking ---------------------------------------------------------------------------------
    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([which(program) or program, *args], capture_output=True, text=True,
                              timeout=20)

    def node_state(self) -> str:
        return self._run("sinfo", "--noheader", "--format=%T").stdout.strip().rstrip("*~#")

    def jobs(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        """``{job id: (state, job name)}`` for the given ids, finished ones included (squeue
        remembers jobs for MinJobAge after they end)."""
        if not ids:
            return {}
        out = self._run("squeue", "--noheader", "--states=all", "--format=%i|%T|%j",
                        "--jobs", ",".join(ids)).stdout
        rows = (ln.split("|", 2) for ln in out.splitlines() if ln.count("|") == 2)
        return {i.strip(): (s.strip(), n.strip()) for i, s, n in rows}

    def logs(self, tail: int = 3000) -> str:
        parts = []
        for path in sorted(self.state.glob("*.log")) + sorted(self.state.glob("*.out")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}")
        if self._munge_tmp is not None and (self._munge_tmp / "munged.log").exists():
            log = (self._munge_tmp / "munged.log").read_text(errors="replace")[-tail:]
            parts.append(f"--- munged.log\n{log}")
        return "\n".join(parts)

    # -- stopping -------------------------------------------------------------------------------
    def _cancel_all(self, timeout: float = 20) -> None:
        """Jobs a failed or killed run left behind would outlive slurmd: cancel and await them."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            active = self._run("squeue", "--noheader", "--format=%i").stdout.split()
            if not active:
                return
            self._run("scancel", "--full", *active)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not self._run("squeue", "--noheader", "--format=%i").stdout.split():
                    return
                time.sleep(0.5)

    def stop(self) -> None:
        """Cancel what is left in the queue, stop the daemons this object started (by PID, in
        reverse order) and restore slurm.conf."""
        try:
            if self.procs.get("slurmctld") is not None and self.procs["slurmctld"].poll() is None:
                self._cancel_all()
            for name in reversed(list(self.procs)):
                proc = self.procs[name]
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait(timeout=15)
            self.procs.clear()
        finally:
            for path, before in self._replaced.items():
                if before is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(before)
            self._replaced.clear()
            for path in reversed(self._made_dirs):
                with contextlib.suppress(OSError):
                    path.rmdir()
            self._made_dirs.clear()
            if self._munge_tmp is not None:
                shutil.rmtree(self._munge_tmp, ignore_errors=True)
                self._munge_tmp = None


class ClusterUnavailable(RuntimeError):
    """The machine cannot host the test cluster (e.g. another SLURM already runs)."""


@contextlib.contextmanager
def running(state: Path, min_cpus: int = 0, gpus: int = 0,
            timeout: float = 30) -> Iterator[SlurmCluster]:
    """A started single-node cluster for the duration of the block; stopped whatever happens."""
    with exclusive():
        cluster = SlurmCluster(state, min_cpus, gpus)
        try:
            cluster.start(timeout)
            yield cluster
        finally:
            cluster.stop()
