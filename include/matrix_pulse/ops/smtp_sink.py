"""A real local SMTP server that saves every message it accepts as an .eml file.

Used by the tests (context manager, port 0 picks a free port) and by `make demo`
(``python -m matrix_pulse.ops.smtp_sink --port 8025 --dir data/outputs/mailbox``).
One file per accepted message *per envelope recipient*, named so a directory listing is
readable: ``<utc time>_<recipient>_<n>.eml``. The envelope recipients are also written as
an ``X-Sink-Rcpt-To`` header, because Bcc recipients never appear in the message itself.

``fail_next`` lets a test make the server refuse the next N messages with a 451 (a
temporarily failing server), to exercise retries.
"""

from __future__ import annotations

import argparse
import itertools
import re
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from aiosmtpd.controller import Controller

_counter = itertools.count(1)
_lock = threading.Lock()


class MailboxHandler:
    """aiosmtpd handler: write each accepted message to ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fail_next = 0
        self.received: list[Path] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd hook name
        with _lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return "451 4.3.0 Temporary failure (injected by the test sink)"
        self.folder.mkdir(parents=True, exist_ok=True)
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        header = ("X-Sink-Rcpt-To: " + ", ".join(envelope.rcpt_tos) + "\r\n").encode()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        for rcpt in envelope.rcpt_tos:
            safe = re.sub(r"[^A-Za-z0-9@._-]", "_", rcpt)
            path = self.folder / f"{stamp}_{safe}_{next(_counter)}.eml"
            tmp = path.with_suffix(".part")
            tmp.write_bytes(header + data)
            tmp.replace(path)  # a reader never sees half a message
            self.received.append(path)
        return "250 OK: saved"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class SmtpSink:
    """Context manager around an aiosmtpd Controller; ``port=0`` picks a free port."""

    def __init__(self, folder: Path | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        if folder is None:
            from matrix_pulse.settings import get_settings

            folder = get_settings().outputs_dir / "mailbox"
        self.folder = Path(folder)
        self.host = host
        self.port = port or free_port(host)
        self.handler = MailboxHandler(self.folder)
        # Packs carry a PDF and an XLSX: allow 50 MB (the default 32 MiB limit is too tight for a big quarter).
        self._controller = Controller(self.handler, hostname=host, port=self.port, data_size_limit=50 * 2**20)

    def start(self) -> SmtpSink:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.stop()

    @property
    def messages(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"))

    def fail_next(self, n: int) -> None:
        """Refuse the next ``n`` messages with 451 (temporary failure)."""
        self.handler.fail_next = n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local SMTP server saving every message as .eml")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument(
        "--dir", type=Path, default=None, help="folder for .eml files (default: outputs/mailbox)"
    )
    args = parser.parse_args(argv)
    sink = SmtpSink(args.dir, args.host, args.port).start()
    print(f"smtp sink listening on {sink.host}:{sink.port}, saving to {sink.folder}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
