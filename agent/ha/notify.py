"""What the engines' notify, up and down scripts run: `python -m agent.ha.notify SOCKET GROUP
STATE` sends one datagram "GROUP STATE" to the HA service's socket. Standard library only, so
it also runs as a plain file (`python -I notify.py ...`) and starts fast."""

from __future__ import annotations

import socket
import sys

STATES = ("INIT", "BACKUP", "MASTER", "FAULT", "STOP")


def send(path: str, group: str, state: str) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0)
        s.sendto(f"{group} {state}".encode(), path)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[2].upper() not in STATES:
        print("usage: notify SOCKET GROUP INIT|BACKUP|MASTER|FAULT|STOP", file=sys.stderr)
        return 2
    try:
        send(argv[0], argv[1], argv[2].upper())
    except OSError as e:
        # the engine goes on either way; reflexd learns the state at its next transition
        print(f"notify: {argv[0]}: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
