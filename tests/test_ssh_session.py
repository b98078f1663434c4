"""lbsh sessions over ssh with the OpenSSH client and a stand-in interpreter: exec
requests, piped batch input, interactive ptys under tmux (Tab, `?`, resize), several
sessions at once, and clean-up when a client goes away."""

from __future__ import annotations

import subprocess

import paramiko
import pytest
from test_ssh_common import make_keys, running_lab, ssh, ssh_cmd, wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return make_keys(tmp_path_factory.mktemp("sshkeys"))


@pytest.fixture
def lab(tmp_path, keys):
    with running_lab(tmp_path, keys) as lab:
        yield lab


def test_exec_request_runs_statements(lab, keys):
    r = ssh(lab.port, "alice", keys["ed25519"], "status mx_pool")
    assert (r.returncode, r.stdout) == (0, "echo: status mx_pool\n")
    assert "stub>" not in r.stdout + r.stderr
    r = ssh(lab.port, "alice", keys["ed25519"], "fail undefined service FOO")
    assert r.returncode == 1
    assert r.stdout == "ERROR: fail undefined service FOO\n"
    # each session had its own API object, closed at the end, opened with the user's role
    wait_for(lambda: len(lab.apis) == 2 and all(a.closed for a in lab.apis), what="api closed")
    assert [(a.user, a.role) for a in lab.apis] == [("alice", "admin")] * 2


def test_exec_with_several_lines_stops_at_first_error(lab, keys):
    r = ssh(lab.port, "olga", keys["ecdsa"], "show a\nfail b\nshow c")
    assert r.returncode == 1
    assert r.stdout == "echo: show a\nERROR: fail b\n"


def test_piped_batch_stops_at_first_error(lab, keys):
    script = "# a comment\nservice SMTP\nfail here\nservice NEVER\n"
    r = ssh(lab.port, "alice", keys["ed25519"], input=script, extra=["-T"])
    assert r.returncode == 1
    assert r.stdout == "echo: service SMTP\nERROR: fail here\n"
    ok = ssh(lab.port, "alice", keys["ed25519"], input="show a\nshow b\n", extra=["-T"])
    assert (ok.returncode, ok.stdout) == (0, "echo: show a\necho: show b\n")


def test_exec_with_pty_gets_crlf(lab, keys):
    r = subprocess.run(ssh_cmd(lab.port, "alice", keys["ed25519"], "whoami", extra=["-tt"]),
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0
    assert r.stdout == b"alice admin\r\n"


def test_interactive_completion_help_and_resize(lab, keys, tmux):
    t = tmux(ssh_cmd(lab.port, "alice", keys["ed25519"]), width=100, height=30)
    t.wait_screen("alice@stub>")
    # Tab completes a unique word, and lists the candidates of an ambiguous one
    t.send("st", literal=True)
    t.send("Tab")
    t.wait_screen("alice@stub> status")
    t.send(" x", literal=True)
    t.send("Enter")
    t.wait_screen("echo: status x")
    t.send("s", literal=True)
    t.send("Tab")
    screen = t.wait_screen("service")
    assert "show" in screen and "status" in screen
    t.send("C-u")
    # `?` shows the next words without becoming part of the line
    t.send("sh", literal=True)
    t.send("?", literal=True)
    t.wait_screen("Possible completions:")
    t.send("ow", literal=True)
    t.send("Enter")
    screen = t.wait_screen("echo: show")
    assert "echo: show?" not in screen and "echo: sh?ow" not in screen
    # inside a quoted string `?` is text
    t.send('show "why?"', literal=True)
    t.send("Enter")
    t.wait_screen('echo: show "why?"')
    # window-size changes reach the session
    t.send("size", literal=True)
    t.send("Enter")
    t.wait_screen("size 100x30")
    t.send("clear", literal=True)  # stand-in echoes it; it only makes the next check unique
    t.send("Enter")
    t.resize(60, 20)
    t.send("size", literal=True)
    t.send("Enter")
    t.wait_screen("size 60x20")
    # a statement can ask for a secret, which is not echoed
    t.send("secret", literal=True)
    t.send("Enter")
    t.wait_screen("New password:")
    t.send("hunter22", literal=True)
    t.send("Enter")
    t.wait_screen("Again:")
    t.send("hunter22", literal=True)
    t.send("Enter")
    screen = t.wait_screen("secret of 8 characters, same again: True")
    assert "hunter22" not in screen
    # history: Up brings the last line back
    t.send("size", literal=True)
    t.send("Enter")
    wait_for(lambda: t.screen().count("size 60x20") == 2, what="size again")
    t.send("Up")
    t.send("Enter")
    wait_for(lambda: t.screen().count("size 60x20") == 3, what="history recall")
    t.send("exit", literal=True)
    t.send("Enter")
    wait_for(lambda: not t.alive(), what="ssh to exit after `exit`")
    wait_for(lambda: lab.server.session_count == 0, what="session to end")
    assert all(a.closed for a in lab.apis)


def test_zero_size_pty_falls_back_to_80x24(lab, keys):
    # ssh -tt with piped input asks for a pty of 0x0
    r = subprocess.run(ssh_cmd(lab.port, "alice", keys["ed25519"], extra=["-tt"]),
                       input=b"size\nexit\n", capture_output=True, timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    assert "size 80x24" in out, out
    assert "CPR" not in out
    assert r.returncode == 0


def test_paste_while_a_statement_runs(lab, keys):
    # more than a pipe holds arrives while `slow` runs; typeahead is kept, and what is
    # still unread when the session ends is dropped without hanging it
    paste = b"slow\nsize\nexit\n" + b"#" * 200_000
    r = subprocess.run(ssh_cmd(lab.port, "alice", keys["ed25519"], extra=["-tt"]),
                       input=paste, capture_output=True, timeout=90)
    out = r.stdout.decode("utf-8", "replace")
    assert "slow done" in out and "size 80x24" in out
    assert r.returncode == 0
    wait_for(lambda: lab.server.session_count == 0, what="session to end")
    assert ssh(lab.port, "alice", keys["ed25519"], "whoami").returncode == 0


def test_ctrl_d_logs_out(lab, keys, tmux):
    t = tmux(ssh_cmd(lab.port, "olga", keys["ecdsa"]))
    t.wait_screen("olga@stub>")
    t.send("C-c")
    t.wait_screen("olga@stub>")
    t.send("C-d")
    wait_for(lambda: not t.alive(), what="ssh to exit after Ctrl-D")


def test_several_sessions_at_once(lab, keys, tmux):
    t = tmux(ssh_cmd(lab.port, "alice", keys["ed25519"]))
    t.wait_screen("alice@stub>")
    clients = [subprocess.Popen(ssh_cmd(lab.port, "alice", keys["ed25519"], extra=["-T"]),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(4)]
    try:
        for i, c in enumerate(clients):
            c.stdin.write(f"show {i}\n")
            c.stdin.flush()
        # all five are open together: four batch sessions wait for more input
        wait_for(lambda: lab.server.session_count == 5, what="five sessions")
        t.send("show interactive", literal=True)
        t.send("Enter")
        t.wait_screen("echo: show interactive")
        for i, c in enumerate(clients):
            out, err = c.communicate(f"show {i} again\n", timeout=60)
            assert c.returncode == 0, err
            assert out == f"echo: show {i}\necho: show {i} again\n"
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait(10)


def test_client_gone_mid_prompt_cleans_up(lab, keys, tmux):
    t = tmux(ssh_cmd(lab.port, "alice", keys["ed25519"]))
    t.wait_screen("alice@stub>")
    t.send("half a li", literal=True)
    wait_for(lambda: lab.server.session_count == 1, what="session open")
    t.kill()  # the terminal, and with it the ssh client, goes away
    wait_for(lambda: lab.server.session_count == 0, what="session to end")
    wait_for(lambda: lab.apis and lab.apis[0].closed, what="api closed")
    # the server still serves
    assert ssh(lab.port, "alice", keys["ed25519"], "whoami").returncode == 0


def test_stop_ends_live_sessions(tmp_path, keys):
    with running_lab(tmp_path, keys) as lab:
        c = subprocess.Popen(ssh_cmd(lab.port, "alice", keys["ed25519"], extra=["-T"]),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            wait_for(lambda: lab.server.session_count == 1, what="session open")
            lab.server.stop()
            c.wait(timeout=30)
            assert c.returncode != 0
            wait_for(lambda: lab.apis[0].closed, what="api closed")
            wait_for(lambda: lab.server.session_count == 0, what="session to end")
        finally:
            if c.poll() is None:
                c.kill()
                c.wait(10)


def test_enormous_window_is_held_to_a_sane_size(lab, keys):
    # OpenSSH only reports the real terminal; paramiko's client can claim any size
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect("127.0.0.1", lab.port, "alice", key_filename=str(keys["ed25519"]),
                       look_for_keys=False, allow_agent=False, timeout=10)
        chan = client.get_transport().open_session(timeout=10)
        chan.get_pty("xterm", 4_000_000, 4_000_000)
        chan.invoke_shell()
        chan.settimeout(20)
        chan.sendall(b"size\r")
        seen = b""
        while b"size 1000x1000" not in seen:
            data = chan.recv(65536)
            assert data, seen[-300:]
            seen += data
        chan.resize_pty(120, 0)  # a zero side falls back to 80x24
        chan.sendall(b"size\r")
        while b"size 80x24" not in seen:
            data = chan.recv(65536)
            assert data, seen[-300:]
            seen += data
    finally:
        client.close()


def test_channels_per_connection_capped(lab, keys):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect("127.0.0.1", lab.port, "alice", key_filename=str(keys["ed25519"]),
                       look_for_keys=False, allow_agent=False, timeout=10)
        t = client.get_transport()
        chans = [t.open_session(timeout=10) for _ in range(10)]
        with pytest.raises(paramiko.ChannelException):
            t.open_session(timeout=10)
        # the ones it holds still work
        chans[0].exec_command("whoami")
        assert chans[0].makefile("rb").read() == b"alice admin\n"
        assert chans[0].recv_exit_status() == 0
    finally:
        client.close()


def test_an_idle_session_is_closed_and_a_busy_one_is_not(tmp_path, keys):
    import time

    with running_lab(tmp_path, keys, idle_timeout=2.0) as lab:
        cmd = ssh_cmd(lab.port, "alice", keys["ed25519"], extra=["-tt"])
        idle = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        busy = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            for _ in range(8):  # 4 s of typing, twice the timeout
                busy.stdin.write(b"size\n")
                busy.stdin.flush()
                time.sleep(0.5)
            assert busy.poll() is None, "a session in use was closed"
            out, _ = idle.communicate(timeout=30)  # ends by itself: nobody typed
            assert b"session closed" in out and b"idle for" in out
        finally:
            for p in (idle, busy):
                if p.poll() is None:
                    p.kill()
                p.wait()
