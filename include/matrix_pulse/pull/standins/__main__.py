"""``python -m matrix_pulse.pull.standins --root R --api-port 8306 --sftp-port 8307 --env-out F``

Starts both stand-ins on loopback for a remote root laid out by ``lay_out_remote`` (``R/api``,
``R/sftp``; ``--lay-out-from SIMULATED`` lays it out first, from a simulator output folder), with credentials generated now, and writes a shell file (mode 0600) exporting the
AIRFLOW_CONN_* lines that point the pull's connections at them. Runs until interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import threading
from pathlib import Path

from matrix_pulse.pull.standins import PlatformApiStandIn, SftpStandIn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matrix_pulse.pull.standins")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-port", type=int, default=8306)
    parser.add_argument("--sftp-port", type=int, default=8307)
    parser.add_argument("--env-out", type=Path, required=True)
    parser.add_argument("--lay-out-from", type=Path, default=None, help="simulator output to serve")
    args = parser.parse_args(argv)
    if args.lay_out_from:
        from matrix_pulse.pull.config import load_pull_config
        from matrix_pulse.pull.standins import lay_out_remote

        copied = lay_out_remote(args.lay_out_from, args.root, load_pull_config())
        print(
            f"laid out {sum(copied.values())} files for {len(copied)} sources under {args.root}", flush=True
        )
    appid, secret = "wx" + secrets.token_hex(8), secrets.token_urlsafe(24)
    bili, sftp_pw = secrets.token_urlsafe(24), secrets.token_urlsafe(18)
    api = PlatformApiStandIn(args.root / "api", appid, secret, bili, args.host, args.api_port).start()
    sftp = SftpStandIn(args.root / "sftp", "mp_pull", sftp_pw, args.host, args.sftp_port).start()
    http = {"conn_type": "http", "host": args.host, "port": api.port, "schema": "http"}
    sftp_conn = {"conn_type": "sftp", "host": args.host, "port": sftp.port, "login": "mp_pull", "password": sftp_pw,
                 "extra": {"host_key": sftp.host_key_line, "look_for_keys": "false"}}  # fmt: skip
    conns = {
        "mp_wechat_oa": {**http, "login": appid, "password": secret},
        "mp_wechat_channels": {**http, "login": appid, "password": secret},
        "mp_bilibili": {**http, "password": bili},
        "mp_matrix_sftp": sftp_conn,
        "mp_dealer_sftp": sftp_conn,
    }
    args.env_out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.env_out.with_name(args.env_out.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for conn_id, conn in conns.items():
            f.write(f"export AIRFLOW_CONN_{conn_id.upper()}={shlex.quote(json.dumps(conn))}\n")
    partial.replace(args.env_out)  # appears whole: a script may wait for it, then source it
    print(
        f"API stand-in on {api.url}, SFTP stand-in on {args.host}:{sftp.port}; connections in {args.env_out}",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        api.stop()
        sftp.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
