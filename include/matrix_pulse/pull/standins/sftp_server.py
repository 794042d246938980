"""A real SFTP server (asyncssh) on a loopback port, serving a folder as its root.

A generated host key (its public line goes into the connection's ``host_key`` extra, so the
client verifies it) and one throw-away user with a password; the SFTP session is chrooted to
``root``. Runs its event loop in a background thread.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from pathlib import Path

import asyncssh

from matrix_pulse.settings import get_settings


class _PasswordServer(asyncssh.SSHServer):
    def __init__(self, username: str, password: str) -> None:
        self._username, self._password = username, password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self._username and password == self._password


class SftpStandIn:
    def __init__(
        self, root: Path, username: str, password: str, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.username, self.password, self.host, self._port = username, password, host, port
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self._loop = asyncio.new_event_loop()
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._thread: threading.Thread | None = None

    @property
    def host_key_line(self) -> str:
        """``ssh-ed25519 AAAA...``: the connection's ``host_key`` extra."""
        return " ".join(self.host_key.export_public_key("openssh").decode().split()[:2])

    @property
    def port(self) -> int:
        assert self._acceptor is not None, "not started"
        return self._acceptor.sockets[0].getsockname()[1]

    async def _listen(self) -> asyncssh.SSHAcceptor:
        root = str(self.root)
        return await asyncssh.listen(
            self.host,
            self._port,
            server_host_keys=[self.host_key],
            server_factory=lambda: _PasswordServer(self.username, self.password),
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=root.encode()),
            allow_scp=False,
        )

    def start(self) -> SftpStandIn:
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-standin", daemon=True)
        self._thread.start()
        self._acceptor = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            asyncio.run_coroutine_threadsafe(self._acceptor.wait_closed(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> SftpStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m matrix_pulse.pull.standins.sftp_server --root R --port P``; the user's
    password from MP_STANDIN_SFTP_PASSWORD; prints the host key line for the connection."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8307)
    parser.add_argument("--user", default="mp_pull")
    parser.add_argument("--host-key-out", type=Path, help="write the public host key line here")
    args = parser.parse_args(argv)
    password = get_settings().standin_sftp_password
    if password is None:
        parser.error("MP_STANDIN_SFTP_PASSWORD is not set")
    server = SftpStandIn(args.root, args.user, password.get_secret_value(), args.host, args.port).start()
    if args.host_key_out:
        args.host_key_out.write_text(server.host_key_line + "\n")
    print(f"SFTP stand-in on {args.host}:{server.port} for user {args.user}, root {args.root}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
