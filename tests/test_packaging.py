"""The wheel, as an operator installs it: ``uv build``, a fresh virtual environment (the locked
dependencies, offline from uv's cache), then ``omnigw --help``, ``omnigw serve`` on the demo
data packaged inside it, and ``omnigw export-schema`` writing where it is run."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, SEEDS

UV = ROOT / ".tools" / "bin" / "uv"
ADMIN_KEY = "wheel-smoke-admin"


def uv(*args: str, cwd: Path = ROOT, **env: str) -> str:
    done = subprocess.run([str(UV), *args], cwd=cwd, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"uv {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ``bin`` directory of a fresh virtual environment with the wheel installed."""
    if not UV.exists():
        pytest.fail(f"{UV} is missing: run `make install` first", pytrace=False)
    tmp = tmp_path_factory.mktemp("wheel")
    uv("build", "--wheel", "--offline", "--out-dir", str(tmp / "dist"))
    [wheel] = (tmp / "dist").glob("omnichannel_gateway-*.whl")
    venv = tmp / "venv"
    uv("sync", "--frozen", "--no-dev", "--no-install-project", "--offline", "--quiet",
       UV_PROJECT_ENVIRONMENT=str(venv))
    uv("pip", "install", "--offline", "--no-deps", "--quiet", "--python",
       str(venv / "bin" / "python"), str(wheel))
    uv("pip", "check", "--python", str(venv / "bin" / "python"))  # the wheel's requirements
    yield venv / "bin"


def run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir / "omnigw"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=False)


def test_the_package_runs_from_site_packages(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run([str(installed / "python"), "-c", "import gateway; print(gateway."
                            "__file__)"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "site-packages" in where.stdout and str(ROOT) not in where.stdout


def test_help_and_version(installed: Path, tmp_path: Path) -> None:
    helped = run(installed, "--help", cwd=tmp_path)
    assert helped.returncode == 0
    for command in ("serve", "seed", "export-schema", "import", "keys"):
        assert command in helped.stdout
    assert run(installed, "--version", cwd=tmp_path).stdout == "omnigw 0.1.0\n"


def test_export_schema_writes_in_the_working_directory(installed: Path, tmp_path: Path) -> None:
    done = run(installed, "export-schema", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "wrote schema.graphql\n")
    assert (tmp_path / "schema.graphql").read_text() == (ROOT / "schema.graphql").read_text()
    assert not list((installed.parent / "lib").rglob("schema.graphql"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_serve_answers_from_the_packaged_demo_data(installed: Path, tmp_path: Path) -> None:
    # given the installed gateway started where there is no source checkout
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(installed / "omnigw"), "serve", "--port", str(port), cwd=tmp_path,
        env={**os.environ, "OMNIGW_DEMO_ADMIN_KEY": ADMIN_KEY},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(150):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.returncode is None, "omnigw serve exited"
                await asyncio.sleep(0.1)
            # when a query is sent with the demo admin key
            response = await client.post(
                "/graphql", json={"query": "{ channels { id } }"},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        # then it answers from the seeds packaged in the wheel
        assert sorted(c["id"] for c in response.json()["data"]["channels"]) == sorted(
            c["_id"] for c in SEEDS["channels"])
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    # uvicorn ends by re-raising the SIGTERM it handled, after a clean shutdown
    assert process.returncode == -signal.SIGTERM, stderr.decode()[-2000:]
    assert b'"message": "Application shutdown complete."' in stderr
