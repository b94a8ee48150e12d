"""The README's 'Try it with curl' block, run as written against `make run`: the readiness wait, then the curls."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def curl_block() -> list[str]:
    section = README.split("## Try it with curl", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    lines, current = [], ""
    for line in block.splitlines():  # join backslash continuations into one command
        current += line.rstrip("\\") + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            lines.append(current.strip())
            current = ""
    return [line for line in lines if line]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def documents(text: str) -> list:
    decoder, out, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        value, index = decoder.raw_decode(text, index)
        out.append(value)
    return out


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("make") is None, reason="needs curl and make")
def test_readme_curl_commands_work_against_make_run(tmp_path):
    lines = curl_block()
    assert lines[0].startswith("make run &")
    assert any(line.startswith("until curl") and "/healthz" in line for line in lines), "README must wait for readiness"
    port = str(free_port())
    env = os.environ | {"CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}"}
    server = subprocess.Popen(["make", "run", f"PORT={port}", "WORKERS=1"], cwd=ROOT, env=env, start_new_session=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        script = "\n".join(line.replace("8080", port) for line in lines[1:])
        result = subprocess.run(["timeout", "180", "bash", "-c", script], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        discovery, response = documents(result.stdout)
        assert {s["id"] for s in discovery["services"]} >= {"kmt2a-patient-view", "kmt2a-order-select"}
        assessments = [c["extension"]["org.kmt2a-cds.assessment"] for c in response["cards"] if "extension" in c]
        assert len(assessments) == 1 and assessments[0]["kmt2a"]["status"] == "rearranged"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert "kmt2a-cds ready: http://127.0.0.1:" + port in output
