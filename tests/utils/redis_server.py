"""A redis-server of the caller's own on a spare port, which a test or a fault run may stop, kill,
pause and start again (on the same port, in the same directory): the shared Redis must never be."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from tests.utils.ports import free_port
from tests.utils.programs import program

# Bounds for a failure only: a healthy redis-server answers within milliseconds.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


@dataclass
class RedisServer:
    """redis-server on 127.0.0.1:`port`, its files and its log (redis.log) in `directory`.

    Not persistent (the default), it writes nothing to disk by itself (`--save ''`, no
    append-only file): a restart starts empty, as the design must tolerate, unless the last stop
    was a `stop(save=True)`, whose snapshot the next start loads.
    Persistent, every write is in its append-only file before it is answered, as a production
    Redis would keep it, and a restart (even after `kill`) finds it all.

    As a context manager: started on entry, killed on exit if it still runs."""

    directory: Path
    persistent: bool = False
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Started, and answering PING; RuntimeError if it exits or does not answer."""
        assert not self.running(), "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [program("redis-server") or "redis-server", "--port", str(self.port)]
        command += ["--bind", "127.0.0.1", "--dir", str(self.directory), "--save", ""]
        if self.persistent:
            command += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            command += ["--appendonly", "no"]
        with (self.directory / "redis.log").open("ab") as log:
            # A session of its own: a Ctrl-C meant for a benchmark does not reach it, and the
            # benchmark's clean-up stops it in order.
            self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT
        with Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1) as client:
            while True:
                try:
                    if client.ping():
                        return
                except RedisError:  # not listening yet, or still loading its data
                    pass
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited: {self._log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {self.port} did not answer")
                time.sleep(0.05)

    def stop(self, *, save: bool = False) -> None:
        """Shut down as an operator would: SIGTERM (saving nothing but the append-only file), or
        with `save` a SHUTDOWN SAVE, whose snapshot a restart loads. SIGKILL if it lingers.
        Without `save`, a server that is not persistent starts empty again: an earlier
        snapshot is removed."""
        if not self.running():
            return
        assert self.process is not None
        if save:
            with Redis(port=self.port, socket_timeout=STOP_TIMEOUT) as client:
                client.shutdown(save=True)
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        if not save and not self.persistent:
            (self.directory / "dump.rdb").unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL, as a crash ends it: what it held in memory only is gone."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: connections are accepted and never answered, as a hung Redis."""
        assert self.process is not None, "not running"
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None, "not running"
        os.kill(self.process.pid, signal.SIGCONT)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exception: object) -> None:
        self.kill()  # a paused process dies too

    def _log_tail(self, lines: int = 20) -> str:
        log = self.directory / "redis.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
