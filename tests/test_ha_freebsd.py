"""FreeBSD CARP rendering (no FreeBSD kernel here, as with the pf driver): the modern ifconfig
and rc.conf forms, the paper's Fig. 6, net.inet.carp.preempt, pfsync and the devd rule."""

from __future__ import annotations

from pathlib import Path

from agent.ha.freebsd import devd_rule, fig6, ifconfig_commands, rc_conf, sysctl_conf
from agent.ha.model import carp_of
from agent.ha.notify import main as notify_main
from datastore.store import parse_config

NS = "urn:reflex:yang:reflex-lb"

FIG6_MASTER = """\
ifconfig_carp0="vhid 1 pass carp0pass 192.168.1.1/24"
ifconfig_carp1="vhid 2 pass carp1pass 62.103.127.154/28"
ifconfig_carp2="vhid 3 pass carp2pass 62.103.127.157/28"
"""
FIG6_BACKUP = """\
ifconfig_carp0="vhid 1 pass carp0pass advskew 100 192.168.1.1/24"
ifconfig_carp1="vhid 2 pass carp1pass advskew 100 62.103.127.154/28"
ifconfig_carp2="vhid 3 pass carp2pass advskew 100 62.103.127.157/28"
"""


def paper_config(advskew: int, sync: str = "em2") -> str:
    groups = [("carp0", 1, "em1", "192.168.1.1/24"), ("carp1", 2, "em0", "62.103.127.154/28"),
              ("carp2", 3, "em0", "62.103.127.157/28")]
    xml = "".join(
        f"<group><name>{n}</name><vhid>{v}</vhid><interface>{i}</interface><address>{a}</address>"
        f"<advskew>{advskew}</advskew><password>{n}pass</password></group>"
        for n, v, i, a in groups)
    sync_if = f"<sync-interface>{sync}</sync-interface>"
    return f'<reflex xmlns="{NS}"><carp>{xml}{sync_if}</carp></reflex>'


def test_fig6_for_both_devices():
    master = fig6(carp_of(parse_config(paper_config(0))))
    backup = fig6(carp_of(parse_config(paper_config(100))))
    assert master.splitlines()[0] == 'cloned_interfaces="carp0 carp1 carp2"'
    assert master.split("\n", 1)[1] == FIG6_MASTER
    assert backup.split("\n", 1)[1] == FIG6_BACKUP


def test_modern_ifconfig_preempt_and_pfsync():
    cmds = [" ".join(c) for c in ifconfig_commands(carp_of(parse_config(paper_config(100))))]
    assert cmds[0] == "ifconfig em1 inet vhid 1 advskew 100 pass carp0pass alias 192.168.1.1/24"
    assert cmds[2] == "ifconfig em0 inet vhid 3 advskew 100 pass carp2pass alias 62.103.127.157/28"
    assert "ifconfig pfsync0 syncdev em2 up" in cmds
    assert cmds[-1] == "sysctl net.inet.carp.preempt=1"
    demoted = [" ".join(c) for c in ifconfig_commands(
        carp_of(parse_config(paper_config(0))), demoted={"carp1"})]
    assert "vhid 2 advskew 240" in demoted[1] and "advskew" not in demoted[0]


def test_rc_conf_counts_aliases_per_interface():
    text = rc_conf(carp_of(parse_config(paper_config(100))))
    assert 'ifconfig_em1_alias0="inet vhid 1 advskew 100 pass carp0pass alias 192.168.1.1/24"' \
        in text
    assert 'ifconfig_em0_alias0="inet vhid 2 ' in text
    assert 'ifconfig_em0_alias1="inet vhid 3 ' in text
    assert 'pfsync_syncdev="em2"' in text
    assert sysctl_conf(carp_of(parse_config(paper_config(0)))) == "net.inet.carp.preempt=1\n"


def test_devd_rule_reaches_the_notify_socket(tmp_path):
    import socket as so

    sock = tmp_path / "n.sock"
    rule = devd_rule(sock)
    assert 'match "system"\t\t"CARP";' in rule and "$subsystem $type" in rule
    # what devd's action runs, with devd's arguments: the service reads "1@em0 MASTER"
    with so.socket(so.AF_UNIX, so.SOCK_DGRAM) as s:
        s.bind(str(sock))
        s.settimeout(5)
        assert notify_main([str(sock), "1@em0", "MASTER"]) == 0
        assert s.recv(100) == b"1@em0 MASTER"
    assert notify_main([str(sock), "1@em0", "BOGUS"]) == 2
    assert notify_main([str(Path(tmp_path / "missing.sock")), "g", "MASTER"]) == 1
