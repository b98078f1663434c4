"""pf.conf rendering against the paper's figures (Fig. 3 from the Fig. 7 configuration, Fig. 4
from the Section 2.1 web example) and the OpenBSD dialect. The paper's 62.103.127.x and
192.168.1.x addresses appear here as text only: nothing is sent anywhere."""

import re

import pytest
from lxml import etree

from pfbridge import load_driver
from pfbridge.model import Config
from pfbridge.pf_render import problems, render

NS = "urn:reflex:yang:reflex-lb"

# The paper's Fig. 3, verbatim (line numbers dropped).
FIG3 = """\
ext_if="xl0"    # replace with actual external interface name i.e., dc0
int_if="xl1"   # replace with actual internal interface name i.e., dc1
internal_net="192.168.1.0/24"
internal_gw="192.168.1.1"
external_addr="62.103.127.153"
# The service IP for mx.ourdomain.tld
mx_service_ip="62.103.127.154"
# The service IP for ldap.ourdomain.tld
ldap_service_ip="62.103.127.157"
# The pool of mx mail servers
table <mx_pool> {192.168.1.2,192.168.1.3}
# The pool of ldap servers
table <ldap_pool> {192.168.1.2,192.168.1.3,192.168.1.4}
# This is required for the internal machines to see the outside world
nat on $ext_if from $internal_net to any -> $external_addr
# The rdr rules for the mx mail service
rdr on $ext_if proto tcp from any to $mx_service_ip port 25 -> <mx_pool>
rdr on $int_if proto tcp from $internal_net to $mx_service_ip port 25 -> <mx_pool>
# This is necessary for the reflection of connections from internal net
# to the mx mail service
nat on $int_if proto tcp from $internal_net to <mx_pool> port 25 -> $internal_gw
# The rdr rules for the ldap service
rdr on $ext_if proto tcp from any to $ldap_service_ip port 389 -> <ldap_pool>
rdr on $int_if proto tcp from $internal_net to $ldap_service_ip port 389 -> <ldap_pool>
# This is necessary for the reflection of connections from internal net
# to the ldap service
nat on $int_if proto tcp from $internal_net to <ldap_pool> port 389 -> $internal_gw
no nat on $int_if proto tcp from $int_if to $internal_net
"""

# The paper's Fig. 4, verbatim (line numbers dropped).
FIG4 = """\
ext_if="xl0"      # replace with actual external interface name i.e., dc0
int_if="xl1"     # replace with actual internal interface name i.e., dc1
internal_net="192.168.1.0/24"
internal_gw="192.168.1.1"
external_addr="62.103.127.153"
# The service IP for ldap.ourdomain.tld
ldap_service_ip="62.103.127.157"
# The service IP for www.ourdomain.tld
www_service_ip="62.103.127.154"
# The pool of ldap servers
table <ldap_pool> {192.168.1.2,192.168.1.3,192.168.1.4}
# The pool of web servers
table <www_pool> {192.168.1.2,192.168.1.3,192.168.1.4}
# This is required for the internal machines to see the outside world
nat on $ext_if from $internal_net to any -> $external_addr
# The rdr rules for the ldap service
rdr on $ext_if proto tcp from any to $ldap_service_ip port 389 -> <ldap_pool>
rdr on $int_if proto tcp from $internal_net to $ldap_service_ip port 389 -> <ldap_pool>
# This is necessary for the reflection of connections from internal net
# to the ldap service
nat on $int_if proto tcp from $internal_net to <ldap_pool> port 389 -> $internal_gw
# The rdr rules for the www service
rdr on $ext_if proto tcp from any to $www_service_ip port 80 -> <www_pool> sticky-address
no nat on $int_if proto tcp from $int_if to $internal_net
"""

DEVICE = """<device>
  <interface><external>xl0</external><internal>xl1</internal></interface>
  <internal-net>192.168.1.0/24</internal-net><internal-gw>192.168.1.1</internal-gw>
  <external-address>62.103.127.153</external-address>
</device>"""


def running(services: str, pools: str, device: str = DEVICE) -> etree._Element:
    return etree.fromstring(
        f'<reflex xmlns="{NS}">{device}<services>{services}</services>'
        f"<pools>{pools}</pools></reflex>"
    )


def service(name, address, port, extra=""):
    return (
        f"<service><name>{name}</name><address>{address}</address><port>{port}</port>"
        f"{extra}</service>"
    )


def pool(name, svc, *members, extra=""):
    ms = "".join(f"<member><address>{m}</address>{extra}</member>" for m in members)
    return f"<pool><name>{name}</name><service>{svc}</service>{ms}</pool>"


def fig7(smtp_reflect: bool):
    """The paper's Fig. 7 (with xl0/xl1), plus the external address of Fig. 3 line 5, which
    Fig. 7 does not set but Fig. 3's outbound nat needs."""
    return running(
        service("SMTP", "62.103.127.154", 25, "<reflect>true</reflect>" if smtp_reflect else "")
        + service("LDAP", "62.103.127.157", 389, "<protocol>tcp</protocol><reflect>true</reflect>"),
        pool("mx_pool", "SMTP", "192.168.1.2", "192.168.1.3")
        + pool("ldap_pool", "LDAP", "192.168.1.2", "192.168.1.3", "192.168.1.4"),
    )


def rules(text: str) -> list[str]:
    """The meaning of a pf.conf: its statements with macros expanded, comments, blank lines
    and spacing dropped, in order."""
    macros: dict[str, str] = {}
    out = []
    for raw in text.splitlines():
        line = re.sub(r"#.*", "", raw).strip()
        if not line:
            continue
        m = re.fullmatch(r'(\w+)\s*=\s*"([^"]*)"', line)
        if m:
            macros[m.group(1)] = m.group(2)
            continue
        line = re.sub(r"\$(\w+)", lambda v: macros[v.group(1)], line)
        line = re.sub(r"\s*,\s*", ",", re.sub(r"\s+", " ", line))
        out.append(line)
    return out


def test_fig7_renders_fig3():
    """Fig. 3 reflects both services; in Fig. 7 only LDAP says `reflect`, so with SMTP marked
    reflect too the rendering is Fig. 3 lines 11-28, statement for statement."""
    got = render(Config.from_running(fig7(smtp_reflect=True)))
    assert rules(got) == rules(FIG3)


def test_fig7_as_printed_renders_fig3_without_mx_reflection():
    got = rules(render(Config.from_running(fig7(smtp_reflect=False))))
    fig3 = rules(FIG3)
    expected = [r for r in fig3 if not ("62.103.127.154" in r and "xl1" in r)
                and "<mx_pool> port 25 -> 192.168.1.1" not in r]
    assert len(expected) == len(fig3) - 2
    assert got == expected


def web_example():
    return running(
        service("LDAP", "62.103.127.157", 389, "<reflect>true</reflect>")
        + service("WWW", "62.103.127.154", 80, "<sticky>true</sticky>"),
        pool("ldap_pool", "LDAP", "192.168.1.2", "192.168.1.3", "192.168.1.4")
        + pool("www_pool", "WWW", "192.168.1.4", "192.168.1.2", "192.168.1.3"),
    )


def test_web_example_renders_fig4():
    """Fig. 4 plus the `set timeout src.track` that Section 2.1 says sticky-address needs."""
    got = rules(render(Config.from_running(web_example())))
    assert "set timeout src.track 300" in got
    got.remove("set timeout src.track 300")
    assert got == rules(FIG4)


def test_openbsd_dialect_of_fig3():
    got = rules(render(Config.from_running(fig7(smtp_reflect=True)), "openbsd"))
    assert got == [
        "table <mx_pool> {192.168.1.2,192.168.1.3}",
        "table <ldap_pool> {192.168.1.2,192.168.1.3,192.168.1.4}",
        "match out on xl0 from 192.168.1.0/24 to any nat-to 62.103.127.153",
        "pass in on xl0 proto tcp from any to 62.103.127.154 port 25 rdr-to <mx_pool>",
        "pass in on xl1 proto tcp from 192.168.1.0/24 to 62.103.127.154 port 25 rdr-to <mx_pool>",
        "match out on xl1 proto tcp from 192.168.1.0/24 to <mx_pool> port 25 nat-to 192.168.1.1",
        "pass in on xl0 proto tcp from any to 62.103.127.157 port 389 rdr-to <ldap_pool>",
        "pass in on xl1 proto tcp from 192.168.1.0/24 to 62.103.127.157 port 389 "
        "rdr-to <ldap_pool>",
        "match out on xl1 proto tcp from 192.168.1.0/24 to <ldap_pool> port 389 "
        "nat-to 192.168.1.1",
    ]


def test_openbsd_sticky_carries_its_own_src_track():
    got = rules(render(Config.from_running(web_example()), "openbsd"))
    assert not any(r.startswith("set ") for r in got)
    assert (
        "pass in on xl0 proto tcp from any to 62.103.127.154 port 80 rdr-to <www_pool> "
        "sticky-address keep state (src.track 300)"
    ) in got


@pytest.mark.parametrize(
    "algorithm, freebsd, openbsd, note",
    [
        ("round-robin", "-> <p>", "rdr-to <p>", None),
        ("random", "-> <p>", "rdr-to <p> random", "round-robin only"),
        ("source-hash", "-> <p> sticky-address", "rdr-to <p> source-hash 0x", "CIDR block"),
        ("weighted-round-robin", "-> <p>", "rdr-to <p>", "no member weights"),
        ("weighted-random", "-> <p>", "rdr-to <p> random", "no member weights"),
    ],
)
def test_algorithms(algorithm, freebsd, openbsd, note):
    doc = running(
        service("S", "198.18.0.1", 80, f"<algorithm>{algorithm}</algorithm>"),
        pool("p", "S", "198.18.1.1", "198.18.1.2"),
    )
    c = Config.from_running(doc)
    fb = render(c, "freebsd")
    ob = render(c, "openbsd")
    fb_rule = next(r for r in rules(fb) if r.startswith("rdr on xl0"))
    ob_rule = next(r for r in rules(ob) if r.startswith("pass in on xl0"))
    assert fb_rule.endswith(freebsd)
    assert openbsd in ob_rule
    if note:
        assert note in fb
    else:
        assert "weights" not in fb and "round-robin only" not in fb
    # The source-hash key is fixed, so a reload keeps clients on their members.
    assert render(c, "openbsd") == ob


def test_udp_ipv6_and_member_port():
    doc = running(
        service("DNS", "198.18.0.53", 53, "<protocol>udp</protocol><reflect>true</reflect>")
        + service("WEB6", "2001:db8::80", 80, "<reflect>true</reflect>"),
        pool("dns_pool", "DNS", "192.168.1.5", "192.168.1.6")
        + pool("web6_pool", "WEB6", "2001:db8:1::2", extra="<port>8080</port>"),
    )
    text = render(Config.from_running(doc))
    got = rules(text)
    assert "rdr on xl0 proto udp from any to 198.18.0.53 port 53 -> <dns_pool>" in got
    assert "nat on xl1 proto udp from 192.168.1.0/24 to <dns_pool> port 53 -> 192.168.1.1" in got
    assert "no nat on xl1 proto udp from xl1 to 192.168.1.0/24" in got
    assert (
        "rdr on xl0 inet6 proto tcp from any to 2001:db8::80 port 80 -> <web6_pool> port 8080"
    ) in got
    # The internal net is IPv4: an IPv6 service gets no reflection rules, and says why.
    assert not any("xl1" in r and "2001:db8::80" in r for r in got)
    assert "no reflection for WEB6" in text


def test_mixed_member_ports_are_a_problem():
    doc = running(
        service("S", "198.18.0.1", 80),
        "<pool><name>p</name><service>S</service>"
        "<member><address>192.168.1.2</address><port>81</port></member>"
        "<member><address>192.168.1.3</address></member></pool>",
    )
    assert problems(Config.from_running(doc)) == [
        "pool p: PF redirects a table to one port, but its members use several"
    ]


def test_saved_render_shows_admin_states_and_anchor_render_the_live_set():
    doc = running(
        service("S", "198.18.0.1", 80),
        "<pool><name>p</name><service>S</service>"
        "<member><address>192.168.1.2</address></member>"
        "<member><address>192.168.1.3</address><admin-state>drain</admin-state></member>"
        "<member><address>192.168.1.4</address><admin-state>disabled</admin-state></member>"
        "</pool>",
    )
    c = Config.from_running(doc)
    saved = render(c)
    assert "table <p> {192.168.1.2}" in saved
    assert "out of rotation by admin-state: 192.168.1.3 (drain), 192.168.1.4 (disabled)" in saved
    assert 'nat-anchor "reflex"' in saved and 'rdr-anchor "reflex"' in saved
    live = render(c, members={"p": {"192.168.1.4", "192.168.1.2"}}, anchor=True)
    assert "table <p> {192.168.1.2,192.168.1.4}" in live
    assert "admin-state" not in live


def test_driver_render_and_missing_pieces():
    # A service with no pool, no internal side: rules only where they make sense.
    doc = running(
        service("S", "198.18.0.1", 80, "<reflect>true</reflect>") + service("T", "198.18.0.2", 81),
        pool("p", "S", "198.18.1.1"),
        device="<device><interface><external>eth0</external></interface></device>",
    )
    text = load_driver("pf-freebsd").render(doc)
    got = rules(text)
    assert got == [
        "table <p> {198.18.1.1}",
        "rdr on eth0 proto tcp from any to 198.18.0.1 port 80 -> <p>",
    ]
    assert "no reflection for S" in text
    assert "service T has no pool" in text
