"""Build and run the test-only MongoDB wire-protocol server (mongo-java-server).

The server is a small Java launcher (``Launcher.java``) shaded into
``tests/mongo_server/target/mongo-server.jar``. It reports MongoDB 6.0 / wire
version 17 so that PyMongo 4.x accepts it. Nothing happens at import time.

Usage::

    with WireServer(repo_root) as server:
        client = pymongo.MongoClient(server.uri)
        ...
        server.stop()      # simulate an outage
        server.restart()   # back again on the same port (data is lost: in-memory)
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, NoReturn, Self

import pymongo
from pymongo.errors import PyMongoError

__all__ = ["WireServer", "build", "jar_path"]

_PROJECT = Path("tests") / "mongo_server"
_JAR_NAME = "mongo-server.jar"
_STOP_GRACE_SECONDS = 5.0
_STDERR_TAIL_LINES = 40


def _default_root() -> Path:
    return Path(__file__).resolve().parents[2]


def jar_path(root: Path) -> Path:
    """Where ``build`` puts the runnable jar (``tests/mongo_server/target/mongo-server.jar``)."""
    return root / _PROJECT / "target" / _JAR_NAME


def _require_on_path(tool: str, purpose: str) -> str:
    found = shutil.which(tool)
    if found is None:
        msg = (
            f"`{tool}` is not on PATH; it is needed to {purpose} "
            "(tests/mongo_server needs Java 17 and Maven 3.8+)"
        )
        raise RuntimeError(msg)
    return found


def _sources(project: Path) -> list[Path]:
    return [project / "pom.xml", *sorted((project / "src").rglob("*.java"))]


def _is_fresh(jar: Path, sources: list[Path]) -> bool:
    if not jar.is_file():
        return False
    jar_mtime = jar.stat().st_mtime
    return all(source.stat().st_mtime <= jar_mtime for source in sources)


def build(root: Path) -> Path:
    """Build the shaded server jar if it is missing or older than pom.xml / the Java sources.

    Safe to call from several processes at once (a file lock serialises the Maven run).
    Returns the jar path.
    """
    project = root / _PROJECT
    jar = jar_path(root)
    sources = _sources(project)
    missing = [str(source) for source in sources if not source.is_file()]
    if missing or len(sources) < 2:
        msg = f"mongo server sources are missing under {project}: {missing or 'no *.java file'}"
        raise RuntimeError(msg)
    if _is_fresh(jar, sources):
        return jar

    _require_on_path("java", "run the test MongoDB server")
    mvn = _require_on_path("mvn", "build the test MongoDB server jar")
    jar.parent.mkdir(parents=True, exist_ok=True)
    with (jar.parent / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_fresh(jar, sources):  # another process built it while we waited
            return jar
        result = subprocess.run(
            [mvn, "-q", "-B", "-Dstyle.color=never", "package", "-DskipTests"],
            cwd=project,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not jar.is_file():
            output = (result.stdout + result.stderr).strip()[-4000:]
            msg = f"`mvn package` failed in {project} (exit {result.returncode}):\n{output}"
            raise RuntimeError(msg)
        jar.touch()  # shade may keep old timestamps; make freshness checks reliable
    return jar


class WireServer:
    """A mongo-java-server child process, as a context manager.

    ``start()`` picks a free port the first time; ``restart()`` reuses that port.
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        jar: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 60.0,
        ping_timeout_ms: int = 2000,
    ) -> None:
        self._root = root if root is not None else _default_root()
        self._jar = jar
        self._host = host
        self._port = port
        self._startup_timeout = startup_timeout
        self._ping_timeout_ms = ping_timeout_ms
        self._process: subprocess.Popen[str] | None = None
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)
        self._threads: list[threading.Thread] = []
        self._note = ""

    # -- properties -----------------------------------------------------

    @property
    def port(self) -> int:
        if self._port == 0:
            msg = "WireServer has not been started yet"
            raise RuntimeError(msg)
        return self._port

    @property
    def host(self) -> str:
        return self._host

    @property
    def uri(self) -> str:
        return f"mongodb://{self._host}:{self.port}/?directConnection=true"

    @property
    def pid(self) -> int:
        """The server's process id (to freeze it with SIGSTOP in fault tests)."""
        if self._process is None:
            msg = "WireServer is not running"
            raise RuntimeError(msg)
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- lifecycle ------------------------------------------------------

    def start(self) -> Self:
        if self._process is not None:
            msg = "WireServer is already started; call stop() or restart()"
            raise RuntimeError(msg)
        jar = self._jar if self._jar is not None else build(self._root)
        java = _require_on_path("java", "run the test MongoDB server")
        deadline = time.monotonic() + self._startup_timeout
        try:
            self._launch(java, jar, deadline)
            self._wait_for_ping(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=_STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            for thread in self._threads:
                thread.join(timeout=1.0)
            self._threads = []

    def restart(self) -> Self:
        """Stop (if running) and start again on the same port, with an empty database."""
        self.stop()
        return self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ------------------------------------------------------

    def _launch(self, java: str, jar: Path, deadline: float) -> None:
        fixed_port = self._port != 0
        self._note = ""
        while True:
            port = self._spawn_and_read_port(java, jar, deadline)
            if port is not None:
                self._port = port
                return
            # The process exited before listening. On restart the old socket may
            # briefly still hold the port: retry until the deadline.
            address_in_use = any("Address already in use" in line for line in self._stderr_tail)
            if fixed_port and address_in_use and time.monotonic() < deadline - 1.0:
                self._note = f"port {self._port} was still in use on an earlier attempt; "
                self.stop()
                time.sleep(0.2)
                continue
            self._fail("exited before printing LISTENING")

    def _spawn_and_read_port(self, java: str, jar: Path, deadline: float) -> int | None:
        self._stderr_tail.clear()
        # stdin stays an open pipe: the server exits when it closes (i.e. if we die).
        process = subprocess.Popen(
            [java, "-jar", str(jar), "--host", self._host, "--port", str(self._port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._process = process
        lines: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        assert process.stderr is not None
        self._threads = [
            _daemon(process.stdout, lines.put),
            _daemon(process.stderr, self._keep_stderr),
        ]
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail(f"did not print LISTENING within {self._startup_timeout:.0f} s")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:  # stdout closed: the process is gone
                process.wait(timeout=_STOP_GRACE_SECONDS)
                for thread in self._threads:
                    thread.join(timeout=1.0)
                return None
            if line.startswith("LISTENING "):
                return int(line.split()[1])

    def _keep_stderr(self, line: str | None) -> None:
        if line is not None:
            self._stderr_tail.append(line)

    def _wait_for_ping(self, deadline: float) -> None:
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if not self.running:
                self._fail("exited while waiting for ping")
            client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
                self.uri,
                serverSelectionTimeoutMS=self._ping_timeout_ms,
                connectTimeoutMS=self._ping_timeout_ms,
            )
            try:
                client.admin.command("ping")
            except PyMongoError as error:
                last_error = error
                time.sleep(0.1)
            else:
                return
            finally:
                client.close()
        self._fail(
            f"did not answer ping within {self._startup_timeout:.0f} s (last error: {last_error!r})"
        )

    def _fail(self, what: str) -> NoReturn:
        process = self._process
        exit_code = process.poll() if process is not None else None
        tail = "\n".join(self._stderr_tail) or "<no stderr>"
        msg = f"mongo-java-server {what} ({self._note}exit code {exit_code}); stderr tail:\n{tail}"
        raise RuntimeError(msg)


def _pump(stream: IO[str], sink: Callable[[str | None], None]) -> None:
    """Forward each line of ``stream`` (without newline) to ``sink``, then ``None`` at EOF."""
    try:
        for raw in stream:
            sink(raw.rstrip("\n"))
    except (OSError, ValueError):
        pass  # stream closed under us during stop()
    finally:
        sink(None)


def _daemon(stream: IO[str], sink: Callable[[str | None], None]) -> threading.Thread:
    thread = threading.Thread(target=_pump, args=(stream, sink), daemon=True)
    thread.start()
    return thread
