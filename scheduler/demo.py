"""``approvals demo``: the whole approval loop on this machine, narrated.

Starts Dovecot and an SMTP relay on loopback in a temporary folder, writes a
config for them with an SQLite store, asks alice@example.test to approve a
deployment, sends the notification, reads it from alice's mailbox, answers it
as her mail client would (quoted original included), lets the scheduler's
poll job read the reply, and prints the decision the workflow system receives.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from approvals.engine import ApprovalEngine
from approvals.models import ApprovalRequest
from mailio.devservers import approver as client
from mailio.devservers.dovecot import DovecotNotInstalledError
from mailio.devservers.stack import MailStack, local_mail_stack
from scheduler.jobs import run_in_background

ENGINE_ADDRESS = "approvals@example.test"
APPROVER = "alice@example.test"
DEMO_PASSWORD = "demo-password"


def config_for_stack(
    stack: MailStack, folder: Path, address: str, *, interval_minutes: float, mode: str = "poll"
) -> str:
    """An approvals.toml for local servers, as an admin writes it: SQLite in ``folder``,
    secrets from the environment ($<<APPROVALS_SECRET>>, $<<MAIL_PASSWORD>>), and no
    templates_dir, so mail comes from the packaged default theme (as from a wheel)."""
    servers = "".join(
        f"""[servers.{kind}]
type = "{kind}"
host = "{stack.host}"
port = {port}
security = "none"
username = "{address}"
password = "$<<MAIL_PASSWORD>>"
"""
        for kind, port in (("smtp", stack.smtp_port), ("imap", stack.imap_port))
    )
    return f"""\
[store]
url = "sqlite:///{folder / "approvals.db"}"
[tokens]
secret = "$<<APPROVALS_SECRET>>"
ttl_days = 14
[outbound]
server = "smtp"
from = "Approvals <{address}>"
reply_to = "{address}"
[inbound]
server = "imap"
folder = "INBOX"
mode = "{mode}"
interval_minutes = {interval_minutes}
max_messages = 30
after_processing = "delete"
failure_folder = "Failed"
{servers}"""


def _ensure_dovecot() -> None:
    if shutil.which("dovecot"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise DovecotNotInstalledError(
            "Dovecot is not installed: run apt-get install -y dovecot-imapd dovecot-lmtpd as root"
        )
    print("Installing Dovecot (apt-get install dovecot-imapd dovecot-lmtpd)…", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "dovecot-imapd", "dovecot-lmtpd"], check=True, env=env
    )


def run_demo(keep: bool = False) -> int:
    _ensure_dovecot()
    folder = Path(tempfile.mkdtemp(prefix="approvals-demo-"))
    try:
        with local_mail_stack(folder / "servers", password=DEMO_PASSWORD) as stack:
            return _narrate(stack, folder)
    finally:
        if keep:
            print(f"demo folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _narrate(stack: MailStack, folder: Path) -> int:
    print(
        f"1. Local mail servers up: Dovecot IMAP on {stack.host}:{stack.imap_port}, "
        f"SMTP relay on {stack.host}:{stack.smtp_port} (delivering to Dovecot over LMTP)"
    )
    config = folder / "approvals.toml"
    config.write_text(
        config_for_stack(stack, folder, ENGINE_ADDRESS, interval_minutes=5, mode="idle")
    )
    os.environ.setdefault("APPROVALS_SECRET", secrets.token_urlsafe(32))
    os.environ.setdefault("MAIL_PASSWORD", DEMO_PASSWORD)
    engine = ApprovalEngine.from_config(config)
    decided = threading.Event()
    outcome: list[ApprovalRequest] = []

    @engine.on_decision
    def tell_workflow_system(request: ApprovalRequest) -> None:
        outcome.append(request)
        decided.set()

    request = engine.request_approval(
        "Deploy release 1.4.2 to production",
        [f"Alice Approver <{APPROVER}>"],
        details={"pipeline": "web-shop", "version": "1.4.2", "requested by": "ci-bot"},
        external_id="pipeline-run-8812",
    )
    print(f"2. Workflow system asked for approval: request {request.id} ({request.status})")
    print(f"3. Dispatch: {engine.dispatch_pending()}")

    notification = client.read_inbox(stack.host, stack.imap_port, APPROVER, DEMO_PASSWORD)[-1]
    print(f'4. Alice\'s mailbox has: "{notification["Subject"]}"')
    print(f"   Reply-To: {notification['Reply-To']}")
    runner = run_in_background(engine)  # waits in IMAP IDLE for the reply
    reply = client.compose_reply(notification, APPROVER, "Approved, ship it.\n\nAlice")
    started = time.monotonic()
    client.send(stack.host, stack.smtp_port, reply, APPROVER, DEMO_PASSWORD)
    print("5. Alice replied from her mail client:")
    for line in reply.get_content().splitlines()[:6]:
        print(f"   | {line}")
    print("   | …")
    try:
        if not decided.wait(timeout=60):
            print("No decision was recorded within 60 s: see the log above.")
            return 1
        waited = time.monotonic() - started
    finally:
        runner.stop()
    final = outcome[0]
    decision = final.decisions[0]
    print(
        f"6. The server announced the reply (IMAP IDLE); decided {waited:.2f} s after Alice sent it"
    )
    comment = " / ".join(line for line in decision.comment.splitlines() if line.strip())
    print(
        f"7. Decision: request {final.id} is {final.status.value.upper()} "
        f'by {decision.approver}, comment "{comment}"'
    )
    left = client.read_inbox(stack.host, stack.imap_port, ENGINE_ADDRESS, DEMO_PASSWORD)
    print(f"8. Processed replies left in the engine's inbox: {len(left)}")
    engine.close()
    return 0
