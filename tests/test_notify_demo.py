"""`./wb demo` prints emails to its terminal: a newcomer adds an address and sees the confirmation link."""
import os
import re
import subprocess
import sys
import time

from served import ROOT, Member, free_port

DEMO_PASSWORD = "demo-password"


def test_the_demo_prints_the_confirmation_email_and_its_link_works(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WB_")}
    env.update(WB_INSTANCE_PATH=str(tmp_path / "instance"), WB_PROJECT_ROOT=str(ROOT))
    log_path = tmp_path / "demo.log"
    with open(log_path, "w") as log:
        demo = subprocess.Popen(
            [sys.executable, "-m", "wb.cli", "demo", "--port", str(port), "--notify-every", "0.5"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )
        try:
            alice = Member(f"http://127.0.0.1:{port}")
            assert _wait_for(lambda: _answers(alice)), log_path.read_text()
            assert alice.sign_in("alice", DEMO_PASSWORD).status == 302
            added = alice.post("/settings/email", {"email": "alice@example.org"})
            assert added.status == 302
            link = re.compile(rf"http://127\.0\.0\.1:{port}(/settings/email/confirm/[\w.-]+)")
            assert _wait_for(lambda: link.search(log_path.read_text())), log_path.read_text()
            printed = log_path.read_text()
            assert "To: alice@example.org" in printed and "Subject: Confirm your email address" in printed
            confirmed = Member(alice.base).get(link.search(printed).group(1))
            assert confirmed.status == 200 and "is confirmed" in confirmed.text
        finally:
            demo.terminate()
            demo.wait(timeout=20)


def _answers(member) -> bool:
    try:
        return member.get("/healthz").status == 200
    except OSError:
        return False


def _wait_for(condition, seconds=60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False
