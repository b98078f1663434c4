"""A real OpenLDAP slapd on loopback for check tests: a temporary slapd.conf,
an mdb database with one base entry, run as our child and stopped by PID."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

SUFFIX = "dc=reflex,dc=test"
BASE_ENTRY = f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: reflex
dc: reflex
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Slapd:
    """slapd listening on 127.0.0.1 and ::1; extra is added to the global config."""

    def __init__(self, folder: Path, extra: str = "") -> None:
        self.folder = folder
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Slapd:
        db = self.folder / "db"
        db.mkdir(parents=True)
        conf = self.folder / "slapd.conf"
        conf.write_text(
            "include /etc/ldap/schema/core.schema\n"
            f"pidfile {self.folder}/slapd.pid\nargsfile {self.folder}/slapd.args\n"
            f"{self.extra}\n"
            "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
            f'database mdb\nsuffix "{SUFFIX}"\nrootdn "cn=admin,{SUFFIX}"\n'
            f"directory {db}\nmaxsize 10485760\n"
        )
        (self.folder / "base.ldif").write_text(BASE_ENTRY)
        subprocess.run(["slapadd", "-f", str(conf), "-l", str(self.folder / "base.ldif")],
                       check=True, capture_output=True, timeout=30)
        self.port = _free_port()
        urls = f"ldap://127.0.0.1:{self.port}/ ldap://[::1]:{self.port}/"
        # -d keeps slapd in the foreground, our child, so it dies with its PID.
        self.process = subprocess.Popen(
            ["slapd", "-f", str(conf), "-h", urls, "-d", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {self.process.stderr.read().decode()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("slapd did not listen within 15 s")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process and self.process.stderr:
            self.process.stderr.close()
