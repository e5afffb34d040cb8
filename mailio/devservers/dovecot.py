"""Dovecot 2.3 as a throwaway, unprivileged IMAP + LMTP server inside one folder.

Any user logs in with the one shared password (static passdb), so each test can
invent fresh addresses without restarting; wrong passwords are refused. Mail
arrives over LMTP (see :mod:`mailio.devservers.smtp_relay`). Notes on why each
setting is there: /work/shared/notes/dovecot.md.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from mailio.devservers.lifecycle import Startable
from mailio.devservers.oauth_introspection import TokenIntrospectionServer
from mailio.devservers.ports import LOOPBACK, free_port, wait_for_greeting
from mailio.devservers.tls_files import TlsFiles

INSTALL_HINT = "Dovecot is not installed: apt-get install -y dovecot-imapd dovecot-lmtpd"
MAIL_OWNER = "dovecot"  # mail may not belong to uid 0; the package creates this user
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
START_ATTEMPTS = 3  # a free port can be taken between picking it and Dovecot binding it


class DevServerError(RuntimeError):
    """A local development/test mail server could not be set up."""


class DovecotNotInstalledError(DevServerError):
    """The dovecot binary (or its imap/lmtp parts) is missing."""


class DovecotStartError(DevServerError):
    """Dovecot exited or never answered IMAP; the message quotes its log."""


class DovecotServer(Startable):
    """Runs ``dovecot -F`` with a generated config in ``base_dir``.

    ``host``, ``imap_port``, ``lmtp_port`` (and ``imaps_port`` with ``tls``) are
    valid after :meth:`start`. With ``tls`` the imap port offers STARTTLS (not
    required) and ``imaps_port`` speaks TLS from the first byte; without it
    there is no TLS at all. ``oauth2_tokens`` (user -> bearer token) enables
    XOAUTH2/OAUTHBEARER, accepted only with exactly that token for that user.
    ``imap_capability`` replaces the capabilities announced after login (a server
    without IDLE, say). :meth:`restart` stops and starts it on the same ports.
    """

    def __init__(
        self,
        base_dir: Path,
        password: str = "secret",
        tls: TlsFiles | None = None,
        oauth2_tokens: Mapping[str, str] | None = None,
        imap_capability: str | None = None,
    ) -> None:
        if not password or any(c.isspace() or c in "\"'\\" for c in password):
            # it goes into the config file's static passdb args unquoted
            raise ValueError("DovecotServer password: use a non-empty word without spaces/quotes")
        if any(c.isspace() for c in str(base_dir.resolve())):
            raise ValueError(f"DovecotServer base_dir must not contain spaces: {base_dir}")
        self.base_dir = base_dir.resolve()
        self.password = password
        self.tls = tls
        self.oauth2_tokens = dict(oauth2_tokens) if oauth2_tokens is not None else None
        self.imap_capability = imap_capability
        self.host = LOOPBACK
        self.imap_port = 0
        self.lmtp_port = 0
        self.imaps_port: int | None = None
        self.log_path = self.base_dir / "dovecot.log"
        self.console_path = self.base_dir / "dovecot.console"  # what it prints before logging
        self.mail_dir = self.base_dir / "mail"
        self._own_mail_dir = False
        self._process: subprocess.Popen[bytes] | None = None
        self._introspection: TokenIntrospectionServer | None = None

    def __repr__(self) -> str:
        return f"DovecotServer({self.host}:{self.imap_port}, base_dir={str(self.base_dir)!r})"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start Dovecot and return once IMAP greets; raises DovecotStartError with its log."""
        if self.running:
            raise DevServerError(f"{self!r} is already running")
        binary = shutil.which("dovecot") or (
            "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
        )
        if binary is None or not Path("/usr/lib/dovecot/imap").exists():
            raise DovecotNotInstalledError(INSTALL_HINT)
        self._prepare_dirs()
        self._launch()

    def restart(self, while_down: Callable[[], None] | None = None) -> None:
        """Kill Dovecot (clients see their connections cut), call ``while_down``, and start
        it again on the same ports with the same mail; returns once IMAP greets again."""
        self._stop_process()
        if while_down is not None:
            while_down()
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        deadline = time.monotonic() + START_TIMEOUT
        while True:  # the old listeners may take a moment to let the ports go
            self._spawn()
            if self._wait_until_ready():
                return
            self._stop_process()
            failure = self.console_path.read_text("utf-8", "replace") + self._log_since(offset)
            if "Address already in use" not in failure or time.monotonic() > deadline:
                raise DovecotStartError(f"Dovecot did not start again:\n{failure.strip()}")
            time.sleep(0.1)

    def _launch(self) -> None:
        if self.oauth2_tokens is not None:
            self._introspection = TokenIntrospectionServer(self.oauth2_tokens)
            self._introspection.start()
        failure = ""
        for _ in range(START_ATTEMPTS):
            self._pick_ports()
            self._write_config()
            offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            self._spawn()
            if self._wait_until_ready():
                return
            self._stop_process()
            failure = self.console_path.read_text("utf-8", "replace") + self._log_since(offset)
            if "Address already in use" not in failure:
                break
        self.stop()
        raise DovecotStartError(
            f"Dovecot did not start (IMAP on {self.host}:{self.imap_port}, waited at most "
            f"{START_TIMEOUT:.0f}s; config {self.base_dir / 'dovecot.conf'}):\n{failure.strip()}"
        )

    def _spawn(self) -> None:
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        # a file, not a pipe: nobody reads a pipe while the server runs, and a full
        # one would block Dovecot
        with self.console_path.open("wb") as console:
            self._process = subprocess.Popen(
                [binary, "-F", "-c", str(self.base_dir / "dovecot.conf")],
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: see _stop_process
            )

    def stop(self) -> None:
        """Stop Dovecot (its process group) and wait for it to exit. Safe to call twice."""
        self._stop_process()
        if self._introspection is not None:
            self._introspection.stop()
            self._introspection = None
        if self._own_mail_dir:
            shutil.rmtree(self.mail_dir, ignore_errors=True)
            self._own_mail_dir = False

    def _prepare_dirs(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        for name in ("run", "state"):
            (self.base_dir / name).mkdir(exist_ok=True)
        if _reachable_by_others(self.base_dir):
            self.mail_dir = self.base_dir / "mail"
            self.mail_dir.mkdir(exist_ok=True)
        else:
            # The imap/lmtp processes run as the dovecot user, who cannot enter a
            # private folder such as pytest's tmp_path: keep the mail in /tmp instead.
            self.mail_dir = Path(tempfile.mkdtemp(prefix="mailio-dovecot-mail-"))
            self._own_mail_dir = True
        self.mail_dir.chmod(0o750)
        shutil.chown(self.mail_dir, MAIL_OWNER, MAIL_OWNER)

    def _pick_ports(self) -> None:
        self.imap_port = free_port()
        self.lmtp_port = free_port()
        self.imaps_port = free_port() if self.tls is not None else None

    def _write_config(self) -> None:
        config = _render_config(
            base_dir=self.base_dir,
            mail_dir=self.mail_dir,
            imap_port=self.imap_port,
            imaps_port=self.imaps_port or 0,
            lmtp_port=self.lmtp_port,
            password=self.password,
            tls=self.tls,
            oauth2=self.oauth2_tokens is not None,
        )
        if self.imap_capability is not None:
            config += f"imap_capability = {self.imap_capability}\n"
        conf = self.base_dir / "dovecot.conf"
        conf.write_text(config)
        conf.chmod(0o600)  # it holds the password
        if self._introspection is not None:
            (self.base_dir / "dovecot-oauth2.conf.ext").write_text(
                _render_oauth2_config(self._introspection.url)
            )

    def _wait_until_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        # Without this socket the auth process switches the anvil auth penalty off:
        # otherwise every refused login (tests of wrong passwords) slows each later
        # login from 127.0.0.1 by 2-15 s, across the whole session. The master makes
        # it before accepting connections, and auth starts with the first login.
        penalty_socket = self.base_dir / "run" / "anvil-auth-penalty"
        while not penalty_socket.exists():
            if not self.running or time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        penalty_socket.unlink()
        while time.monotonic() < deadline:
            if not self.running:
                return False
            if wait_for_greeting(
                self.host, self.imap_port, b"* OK", min(deadline, time.monotonic() + 0.5)
            ):
                return True
        return False

    def _stop_process(self) -> None:
        """Kill Dovecot's process group and wait for the master.

        SIGTERM makes the master wait a fixed second for its children; the mail is
        already on disk when LMTP answers, so there is nothing to shut down cleanly.
        """
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            # the group id is the master's pid (start_new_session): only its processes
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)
        # Its children (imap-login holds the listening sockets) die a moment later.
        deadline = time.monotonic() + STOP_TIMEOUT
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.005)

    def _log_since(self, offset: int) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")


def _group_alive(group: int) -> bool:
    """True while a process of ``group`` still runs (zombies excepted: init here may
    never reap the orphans, and they hold no sockets)."""
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited while we looked
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state not in ("Z", "X"):
            return True
    return False


def _reachable_by_others(path: Path) -> bool:
    """True when every folder up to ``path`` lets other users through (o+x)."""
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in (path, *path.parents))


def _render_config(
    *,
    base_dir: Path,
    mail_dir: Path,
    imap_port: int,
    imaps_port: int,
    lmtp_port: int,
    password: str,
    tls: TlsFiles | None,
    oauth2: bool,
) -> str:
    mechanisms = "plain login" + (" xoauth2 oauthbearer" if oauth2 else "")
    if tls is None:
        ssl = "ssl = no\n"
    else:
        ssl = f"ssl = yes\nssl_cert = <{tls.cert_file}\nssl_key = <{tls.key_file}\n"
    oauth2_passdb = ""
    if oauth2:
        oauth2_passdb = f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {base_dir}/dovecot-oauth2.conf.ext
}}
"""
    return f"""# Generated by mailio.devservers.dovecot for tests; not for production.
base_dir = {base_dir}/run
state_dir = {base_dir}/state
log_path = {base_dir}/dovecot.log
protocols = imap lmtp
listen = {LOOPBACK}
{ssl}disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
# refused logins answer after 0.5 s (auth's check interval) instead of 2 s
auth_failure_delay = 0
mail_max_userip_connections = 100
mail_location = maildir:{mail_dir}/%u
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 100
passdb {{
  driver = static
  mechanisms = plain login
  args = password={password}
}}
{oauth2_passdb}userdb {{
  driver = static
  args = uid={MAIL_OWNER} gid={MAIL_OWNER} home={mail_dir}/%u allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {LOOPBACK}
    port = {lmtp_port}
  }}
}}
"""


def _render_oauth2_config(introspection_url: str) -> str:
    return f"""introspection_mode = post
introspection_url = {introspection_url}
force_introspection = yes
username_attribute = username
username_format = %u
active_attribute = active
active_value = true
"""
