"""Issue 14: a browser-session cookie alone cannot change state through Airflow's REST API.

Against the real api-server (scripts/airflow_up.sh, private Airflow home, free port): a
cookie-authenticated POST/DELETE from another origin, or with no Origin at all (a replayed
cookie), is refused with 403 and changes nothing; the same cookie from the UI's own origin
and a Bearer token (what a script uses) still work.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import REPO_ROOT, clean_airflow_env, free_port

SCRIPT = REPO_ROOT / "scripts" / "airflow_up.sh"


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_cookie_alone_cannot_post_from_another_origin_bearer_can(
    tmp_path: Path, private_airflow_home: Path
) -> None:
    import httpx

    dags = tmp_path / "dags"
    dags.mkdir()
    port = free_port()
    env = clean_airflow_env(private_airflow_home, tmp_path / "mp_home", AIRFLOW_PORT=str(port),
                            MP_AIRFLOW_DAGS_FOLDER=str(dags), AIRFLOW_UP_TIMEOUT="240")  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    started = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=330)
    try:
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-3000:]
        password = json.loads(
            (private_airflow_home / "simple_auth_manager_passwords.json.generated").read_text()
        )
        with httpx.Client(base_url=base, timeout=30) as http:
            token = http.post("/auth/token", json={"username": "admin", "password": password["admin"]})
            jwt = token.json()["access_token"]
            cookie = {"Cookie": f"_token={jwt}"}
            bearer = {"Authorization": f"Bearer {jwt}"}

            def post(key: str, **headers: str) -> httpx.Response:
                return http.post("/api/v2/variables", json={"key": key, "value": "x"}, headers=headers)

            def exists(key: str) -> bool:
                return http.get(f"/api/v2/variables/{key}", headers=bearer).status_code == 200

            # the session cookie is a credential: reads with it work
            assert http.get("/api/v2/variables", headers=cookie).status_code == 200
            # the attack: the cookie from another origin (same site, other port), or replayed without one
            cross = post("mp_csrf_cross", **cookie, Origin="http://127.0.0.1:1")
            assert cross.status_code == 403 and "Bearer" in cross.json()["detail"], cross.text
            assert post("mp_csrf_none", **cookie).status_code == 403
            assert post("mp_csrf_referer", **cookie, Referer="http://evil.example/page").status_code == 403
            assert (
                not exists("mp_csrf_cross") and not exists("mp_csrf_none") and not exists("mp_csrf_referer")
            )
            # the UI's own origin with the cookie, and a script's Bearer token, still work
            assert post("mp_csrf_ui", **cookie, Origin=base).status_code == 201
            assert post("mp_csrf_script", **bearer).status_code == 201
            assert exists("mp_csrf_ui") and exists("mp_csrf_script")
            # a DELETE is state-changing too
            gone = http.delete(
                "/api/v2/variables/mp_csrf_ui", headers={**cookie, "Origin": "http://127.0.0.1:1"}
            )
            assert gone.status_code == 403 and exists("mp_csrf_ui")
            assert http.delete("/api/v2/variables/mp_csrf_ui", headers=bearer).status_code == 204
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, text=True, timeout=90)
