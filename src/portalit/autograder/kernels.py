"""Kernels for grading: a resilient Execute that restarts a dead or hung kernel and runs the rest,
and kernels forked from a prepared process (the zygote) instead of started from scratch."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute

from ..processes import die_with_parent


class _KernelProcess:
    """A Popen-like handle on a kernel this worker forked (it is our child, so waitpid works)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum):
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class KernelZygote:
    """A process forked from the worker before any kernel is needed: it already holds every
    preloaded module, and becomes a kernel when asked (forking costs milliseconds; starting
    Python and importing litellm, torch and sklearn costs seconds)."""

    def __init__(self):
        read, self._write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            die_with_parent()
            os.close(self._write)
            code = 1
            try:
                with os.fdopen(read, "rb") as pipe:
                    request = pipe.read()
                code = _become_kernel(json.loads(request)) if request else 0
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(read)

    @staticmethod
    def accepts(cmd) -> bool:
        return len(cmd) > 3 and cmd[0] == sys.executable and list(cmd[1:3]) == ["-m", "ipykernel_launcher"]

    def launch(self, cmd, env, cwd) -> _KernelProcess:
        with os.fdopen(self._write, "wb") as pipe:
            pipe.write(json.dumps({"argv": list(cmd), "env": env, "cwd": str(cwd)}).encode())
        self._write = None
        return _KernelProcess(self.pid)

    def discard(self):
        if self._write is not None:
            os.close(self._write)  # end of file: the zygote exits without becoming a kernel
            self._write = None
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass


def _become_kernel(request: dict) -> int:
    """In the zygote: turn into `python -m ipykernel_launcher ARGS` run in cwd with env."""
    for name in ("SIGINT", "SIGTERM", "SIGCHLD", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.default_int_handler if name == "SIGINT" else signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.path.insert(0, request["cwd"])  # as `python -m` puts the working directory first
    loaded = set(sys.modules)  # only what the fork server preloaded: importing anything new here costs seconds
    if "numpy" in loaded:  # a fresh process seeds numpy's global generator from the OS
        import numpy

        numpy.random.seed()
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit():  # libraries imported before the fork sized their thread pools for the machine
        if "torch" in loaded:
            import torch

            torch.set_num_threads(int(threads))
        if "numpy" in loaded:
            try:
                from threadpoolctl import threadpool_limits

                threadpool_limits(limits=int(threads))
            except ImportError:
                pass
    # ipykernel read JPY_PARENT_PID when the server imported it; pass it again so the kernel knows
    # its parent, as a freshly started kernel does.
    parent = [f"--IPKernelApp.parent_handle={os.environ['JPY_PARENT_PID']}"] if "JPY_PARENT_PID" in os.environ else []
    sys.argv = ["ipykernel_launcher", *request["argv"][3:], *parent]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
    return 0


class _Provisioner(LocalProvisioner):
    """Starts kernels through the worker's KernelStarter; every kernel stays in the worker's process
    group, and signals go to the kernel alone (an interrupt must not reach the worker)."""

    async def launch_kernel(self, cmd, **kwargs):
        env = dict(kwargs.get("env") or os.environ)
        env["JPY_PARENT_PID"] = str(os.getpid())  # the kernel exits if the worker dies
        cwd = str(kwargs.get("cwd") or os.getcwd())
        self.process = self.parent.kernel_starter.launch(cmd, env, cwd)
        self.pid, self.pgid, self.cwd = self.process.pid, None, cwd
        return self.connection_info


class _KernelManager(AsyncKernelManager):
    kernel_starter: "KernelStarter"  # set by ResilientExecute.create_kernel_manager

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:
            self.provisioner = _Provisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)


class KernelStarter:
    """Starts one worker's kernels: the first from the zygote (forked before nbgrader opened any
    socket or thread, when `prefork`), any later one (after a restart) as a plain process."""

    def __init__(self, prefork: bool = True):
        self.zygote = KernelZygote() if prefork else None

    def launch(self, cmd, env, cwd):
        if self.zygote is not None and self.zygote.accepts(cmd):
            process, self.zygote = self.zygote.launch(cmd, env, cwd), None
            return process
        return subprocess.Popen([os.path.expanduser(c) for c in cmd], env=env, cwd=cwd,
                                stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)

    def discard(self) -> None:
        """Lets an unused zygote exit."""
        if self.zygote is not None:
            self.zygote.discard()
            self.zygote = None


class ResilientExecute(Execute):
    """nbgrader's Execute, except that a kernel which dies, or ignores the interrupt sent at the
    timeout, is restarted and the remaining cells still run: the submission gets a grade (the
    cells that ran before keep their results) instead of none.

    Built by the worker with its KernelStarter; `notes` collects one line per restart.
    """

    def __init__(self, *args, kernel_starter: KernelStarter, **kwargs):
        kwargs["kernel_manager_class"] = _KernelManager
        super().__init__(*args, **kwargs)
        self.kernel_starter = kernel_starter
        self.notes: list[str] = []
        self.shutdown_kernel = "immediate"  # the notebook is done: no need to wait for a clean exit

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.kernel_starter = self.kernel_starter
        return km

    def preprocess_cell(self, cell, resources, index):
        self._check_assign_resources(resources)
        try:
            cell = self.execute_cell(cell, index, store_history=True)
        except (DeadKernelError, CellTimeoutError) as error:
            name = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
            if isinstance(error, DeadKernelError):
                what = "the kernel died while running this cell (a crash, os._exit or too much memory)"
            else:
                what = (f"this cell was still running after the {self.timeout} s timeout and ignored the "
                        "interrupt (does it catch KeyboardInterrupt?)")
            message = f"{what}; the kernel was restarted and later cells ran without this notebook's earlier state"
            import nbformat

            cell.outputs.append(nbformat.v4.new_output("error", ename="KernelRestarted", evalue=message,
                                                       traceback=[f"KernelRestarted: {message}"]))
            self.notes.append(f"{name}: {what}; kernel restarted")
            self._restart_kernel()
        return cell, self.resources

    def _restart_kernel(self):
        from jupyter_core.utils import ensure_async, run_sync

        async def restart():
            await ensure_async(self.km.restart_kernel(now=True))
            self.kc.stop_channels()
            await self.async_start_new_kernel_client()

        run_sync(restart)()
