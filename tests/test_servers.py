"""The real-server fixtures work: Postfix relays to the scripted sink and logs the truth, sshd serves keys."""

import re
import smtplib
import time
from collections.abc import Callable

import paramiko
import pytest

from tests.servers.postfix import PostfixGateway
from tests.servers.sink import DEFAULT_REPLIES, SmtpSink
from tests.servers.sshd import SshServer

pytestmark = pytest.mark.server

SENDER = "alice@client.test"
RECIPIENTS = {
    "ok1@gmail.test": ("sent", "2.0.0"),
    "soft1@gmail.test": ("deferred", "4.3.0"),
    "hard1@gmail.test": ("bounced", "5.1.1"),
    "full1@gmail.test": ("bounced", "5.2.2"),
    "spam1@gmail.test": ("bounced", "5.7.1"),
}


def delivery_line(gateway: PostfixGateway, queue_id: str, rcpt: str, status: str) -> str:
    """The one mail.log delivery line for this queue id, recipient and status (waits for it)."""
    pattern = rf"{queue_id}: to=<{re.escape(rcpt)}>, .*status={status} "
    (line,) = gateway.wait_for_log(pattern)
    return line


def test_sink_replies_per_recipient_as_scripted() -> None:
    sink = SmtpSink(script=lambda rcpt: (421, "4.7.0 Try again later") if rcpt == "x@y.test" else None)
    sink.start()
    try:
        with smtplib.SMTP(sink.host, sink.port) as smtp:
            smtp.ehlo("tester")
            smtp.mail("from@client.test")
            replies = {r: smtp.rcpt(r) for r in ["ok@y.test", "hard@y.test", "x@y.test", "other@y.test"]}
            smtp.data(b"Subject: hi\r\n\r\nbody\r\n")
        sink.script = {"ok@y.test": (550, "5.7.1 Blocked")}
        with smtplib.SMTP(sink.host, sink.port) as smtp:
            smtp.ehlo("tester")
            smtp.mail("")
            blocked = smtp.rcpt("OK@y.test")
    finally:
        sink.stop()
    assert {r: code for r, (code, _) in replies.items()} == {
        "ok@y.test": 250,
        "hard@y.test": 550,
        "x@y.test": 421,
        "other@y.test": 250,
    }
    assert replies["hard@y.test"][1].decode() == DEFAULT_REPLIES["hard"][1]
    assert blocked == (550, b"5.7.1 Blocked")
    first, second = sink.transactions
    assert first.mail_from == "from@client.test" and first.helo == "tester"
    assert first.accepted == ["ok@y.test", "other@y.test"]
    assert first.message()["Subject"] == "hi" and first.sink_id == "sink-1"
    assert second.mail_from == "" and second.data is None
    assert [r.line for r in sink.rcpt_replies("ok@y.test")] == ["250 2.1.5 OK", "550 5.7.1 Blocked"]


def test_gateway_relays_to_sink_and_logs_each_recipient_outcome(
    postfix_gateway: PostfixGateway, smtp_sink: SmtpSink
) -> None:
    submitted = postfix_gateway.send(SENDER, list(RECIPIENTS))
    left = postfix_gateway.wait_idle()

    # The sink saw one transaction carrying the five RCPTs, and answered each as scripted.
    (relayed,) = [t for t in smtp_sink.transactions if t.mail_from == SENDER]
    assert sorted(r.rcpt for r in relayed.rcpts) == sorted(RECIPIENTS)
    for reply in relayed.rcpts:
        assert (reply.code, reply.text) == smtp_sink.reply_for(reply.rcpt)
    assert relayed.accepted == ["ok1@gmail.test"]
    assert relayed.message()["Message-ID"] == submitted.message_id

    # The real mail.log says the same, recipient by recipient, with the sink as relay.
    relay = f"relay=127.0.0.1[127.0.0.1]:{smtp_sink.port}, "
    for rcpt, (status, dsn) in RECIPIENTS.items():
        line = delivery_line(postfix_gateway, submitted.queue_id, rcpt, status)
        assert relay in line and f"dsn={dsn}," in line
        assert " gw-test postfix/smtp[" in line
        code, text = smtp_sink.reply_for(rcpt)
        assert ("queued as sink-1" if status == "sent" else f"said: {code} {text}") in line
    postfix_gateway.wait_for_log(rf"{submitted.queue_id}: message-id={re.escape(submitted.message_id)}$")

    # One NDR for the three bounced recipients, delivered to the sender through the sink.
    (ndr_line,) = postfix_gateway.wait_for_log(
        rf"postfix/bounce\[\d+\]: {submitted.queue_id}: sender non-delivery notification: \w+"
    )
    ndr_queue_id = ndr_line.rsplit(" ", 1)[1]
    delivery_line(postfix_gateway, ndr_queue_id, SENDER, "sent")
    transactions = smtp_sink.wait_until(lambda ts: any(t.mail_from == "" and t.data for t in ts))
    (ndr,) = [t for t in transactions if t.mail_from == ""]
    assert ndr.accepted == [SENDER]
    report = ndr.message().as_string()
    assert "Undelivered Mail Returned to Sender" in report
    for rcpt in ("hard1@gmail.test", "full1@gmail.test", "spam1@gmail.test"):
        assert f"Final-Recipient: rfc822; {rcpt}" in report
    assert "Final-Recipient: rfc822; soft1@gmail.test" not in report

    # Only the soft recipient is left, deferred, with the sink's reply as the reason.
    (deferred,) = left
    assert deferred["queue_name"] == "deferred" and deferred["queue_id"] == submitted.queue_id
    assert [r["address"] for r in deferred["recipients"]] == ["soft1@gmail.test"]
    assert "451 4.3.0" in deferred["recipients"][0]["delay_reason"]


def test_deferred_recipient_is_delivered_when_the_mx_recovers(
    postfix_gateway: PostfixGateway, smtp_sink: SmtpSink
) -> None:
    submitted = postfix_gateway.send(SENDER, ["ok2@gmail.test", "soft2@gmail.test"])
    assert [m["queue_name"] for m in postfix_gateway.wait_idle()] == ["deferred"]
    delivery_line(postfix_gateway, submitted.queue_id, "soft2@gmail.test", "deferred")
    smtp_sink.script = {"soft2@gmail.test": (250, "2.1.5 OK now")}
    postfix_gateway.flush()
    delivery_line(postfix_gateway, submitted.queue_id, "soft2@gmail.test", "sent")
    postfix_gateway.wait_for_log(rf"{submitted.queue_id}: removed")
    assert postfix_gateway.wait_idle() == []
    assert [r.code for r in smtp_sink.rcpt_replies("soft2@gmail.test")] == [451, 250]


def test_deferred_message_expires_and_returns_to_sender(postfix_gateway: PostfixGateway, smtp_sink: SmtpSink) -> None:
    submitted = postfix_gateway.send(SENDER, ["soft3@gmail.test"])
    postfix_gateway.wait_idle()
    postfix_gateway.postconf(maximal_queue_lifetime="1s", bounce_queue_lifetime="1s")
    time.sleep(1.5)
    postfix_gateway.flush()
    postfix_gateway.wait_for_log(
        rf"{submitted.queue_id}: from=<{re.escape(SENDER)}>, status=expired, returned to sender"
    )
    postfix_gateway.wait_for_log(rf"{submitted.queue_id}: sender non-delivery notification: \w+")
    assert postfix_gateway.wait_idle() == []


def test_two_gateways_run_side_by_side_with_their_own_names_and_logs(
    make_postfix_gateway: Callable[..., PostfixGateway], smtp_sink: SmtpSink
) -> None:
    first = make_postfix_gateway(smtp_sink.port, syslog_name="postfix-out", myhostname="gw1.example")
    second = make_postfix_gateway(smtp_sink.port, myhostname="gw2.example")
    one = first.send(SENDER, ["ok@one.test"])
    two = second.send(SENDER, ["ok@two.test"])
    first.wait_idle()
    second.wait_idle()
    assert " gw1 postfix-out/smtp[" in delivery_line(first, one.queue_id, "ok@one.test", "sent")
    assert " gw2 postfix/smtp[" in delivery_line(second, two.queue_id, "ok@two.test", "sent")
    assert two.queue_id not in first.log_text() and one.queue_id not in second.log_text()
    first.stop()
    assert first.master_pid() is None and first.processes() == []
    assert second.master_pid() is not None


def test_sshd_accepts_the_client_key_and_runs_commands(sshd_server: SshServer) -> None:
    with sshd_server.client() as client:
        _, stdout, _ = client.exec_command("echo hello; id -un")
        assert stdout.read().decode().split() == ["hello", sshd_server.user]
        assert stdout.channel.recv_exit_status() == 0
        with client.open_sftp() as sftp:
            assert sftp.stat(str(sshd_server.config_path)).st_size > 0
        key = client.get_transport().get_remote_server_key()
    assert f"SHA256:{key.fingerprint.split(':', 1)[1]}" == sshd_server.host_key_fingerprint


def test_sshd_rejects_any_other_key(sshd_server: SshServer) -> None:
    client = paramiko.SSHClient()
    client.load_host_keys(str(sshd_server.known_hosts_path))
    with pytest.raises(paramiko.AuthenticationException):
        client.connect(
            sshd_server.host,
            port=sshd_server.port,
            username=sshd_server.user,
            pkey=paramiko.ECDSAKey.generate(),
            look_for_keys=False,
            allow_agent=False,
            timeout=5,
        )
    client.close()


def test_sshd_outage_drops_sessions_and_refuses_until_restarted(sshd_server: SshServer) -> None:
    client = sshd_server.client()
    sshd_server.stop()
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        _, stdout, _ = client.exec_command("true")
        stdout.channel.recv_exit_status()
    client.close()
    with pytest.raises(OSError):
        sshd_server.client(timeout=2)
    sshd_server.start()
    with sshd_server.client() as again:
        _, stdout, _ = again.exec_command("echo back")
        assert stdout.read() == b"back\n"


def test_gateway_log_and_queue_are_reachable_over_ssh(postfix_gateway: PostfixGateway, sshd_server: SshServer) -> None:
    submitted = postfix_gateway.send(SENDER, ["soft4@gmail.test"])
    postfix_gateway.wait_idle()
    delivery_line(postfix_gateway, submitted.queue_id, "soft4@gmail.test", "deferred")
    with sshd_server.client() as client:
        _, stdout, _ = client.exec_command(f"postqueue -c {postfix_gateway.config_dir} -j")
        queue = stdout.read().decode()
        with client.open_sftp() as sftp, sftp.open(str(postfix_gateway.log_path)) as log:
            text = log.read().decode()
    assert f'"queue_id": "{submitted.queue_id}"' in queue
    assert f"{submitted.queue_id}: to=<soft4@gmail.test>" in text
