"""pfbridge.model: reading a running document into frozen dataclasses with YANG defaults."""

import dataclasses

import pytest
from lxml import etree

from pfbridge.model import Config, Device, Member, address_key

NS = "urn:reflex:yang:reflex-lb"


def doc(body: str) -> etree._Element:
    return etree.fromstring(f'<reflex xmlns="{NS}">{body}</reflex>')


PAPER = doc(
    """
    <device>
      <hostname>lb1</hostname>
      <interface><external>xl0</external><internal>xl1</internal></interface>
      <internal-net>192.168.1.0/24</internal-net>
      <internal-gw>192.168.1.1</internal-gw>
    </device>
    <services>
      <service><name>SMTP</name><address>62.103.127.154</address><port>25</port></service>
      <service>
        <name>LDAP</name><address>62.103.127.157</address><protocol>tcp</protocol>
        <port>389</port><reflect>true</reflect><sticky>true</sticky>
        <sticky-timeout>600</sticky-timeout><algorithm>source-hash</algorithm>
        <check><type>ldap</type><interval>500</interval><ldap><base-dn>dc=x</base-dn></ldap>
        </check>
        <state><packets>5</packets></state>
      </service>
      <service><name>DNS</name><address>2001:db8::53</address><protocol>udp</protocol>
        <port>53</port></service>
    </services>
    <pools>
      <pool><name>mx_pool</name><service>SMTP</service>
        <member><address>192.168.1.3</address><weight>5</weight></member>
        <member><address>192.168.1.10</address><port>2525</port></member>
        <member><address>192.168.1.2</address><admin-state>drain</admin-state>
          <state><status>UP</status></state></member>
      </pool>
      <pool><name>ldap_pool</name><service>LDAP</service></pool>
    </pools>
    """
)


def test_device_leaves_and_absent_ones():
    c = Config.from_running(PAPER)
    assert c.device == Device(
        hostname="lb1",
        ext_if="xl0",
        int_if="xl1",
        internal_net="192.168.1.0/24",
        internal_gw="192.168.1.1",
        external_address=None,
    )
    assert Config.from_running(doc("")).device == Device()
    assert Config.from_running(doc("")).device.hostname == "reflex"
    assert Config.from_running(None) == Config()


def test_service_defaults_applied():
    smtp = Config.from_running(PAPER).services["SMTP"]
    assert (smtp.protocol, smtp.port, smtp.family) == ("tcp", 25, 4)
    assert (smtp.sticky, smtp.sticky_timeout, smtp.reflect) == (False, 300, False)
    assert smtp.algorithm == "round-robin"
    assert smtp.check_type == "tcp"
    assert smtp.check == {"interval": 2000, "timeout": 1000, "rise": 2, "fall": 3,
                          "half_open": False}


def test_service_given_values_and_check_subcontainer():
    ldap = Config.from_running(PAPER).services["LDAP"]
    assert (ldap.sticky, ldap.sticky_timeout, ldap.reflect) == (True, 600, True)
    assert ldap.algorithm == "source-hash"
    assert ldap.check_type == "ldap"
    assert ldap.check == {"interval": 500, "timeout": 1000, "rise": 2, "fall": 3, "base_dn": "dc=x"}


def test_udp_ipv6_service_checked_with_icmp_by_default():
    dns = Config.from_running(PAPER).services["DNS"]
    assert (dns.family, dns.protocol, dns.port, dns.check_type) == (6, "udp", 53, "icmp")


@pytest.mark.parametrize(
    "body, expected",
    [
        ("<type>http</type>", {"path": "/", "expect_code": 200, "verify_tls": False}),
        (
            "<type>https</type><port>8443</port><http><host>h</host><verify-tls>true</verify-tls>"
            "<expect-code>204</expect-code></http>",
            {"port": 8443, "path": "/", "host": "h", "expect_code": 204, "verify_tls": True},
        ),
        ("<type>smtp</type>", {"expect_banner": "220"}),
        (
            "<type>radius</type><radius><secret>s3</secret></radius>",
            {"secret": "s3", "user": "reflex-probe", "nas_identifier": "reflex"},
        ),
        (
            "<type>dns</type><dns><query-name>a.example</query-name></dns>",
            {"query_name": "a.example", "query_type": "A", "expect_rcode": "NOERROR"},
        ),
        ("<type>script</type><script><path>/bin/true</path></script>", {"path": "/bin/true"}),
        ("<type>tcp</type><tcp><send>PING</send></tcp>", {"send": "PING", "half_open": False}),
        ("<type>none</type><http><path>/x</path></http>", {}),
    ],
)
def test_check_parameters_of_each_type(body, expected):
    c = Config.from_running(
        doc(
            "<services><service><name>S</name><address>198.18.0.1</address><port>80</port>"
            f"<check>{body}</check></service></services>"
        )
    )
    check = dict(c.services["S"].check)
    for common in ("interval", "timeout", "rise", "fall"):
        assert common in check
        del check[common]
    assert check == expected


def test_members_sorted_numerically_with_defaults():
    pool = Config.from_running(PAPER).pools["mx_pool"]
    assert pool.service == "SMTP"
    assert pool.members == (
        Member("192.168.1.2", None, 1, "drain"),
        Member("192.168.1.3", None, 5, "enabled"),
        Member("192.168.1.10", 2525, 1, "enabled"),
    )
    assert pool.member("192.168.1.10").port == 2525
    assert pool.member("192.168.1.99") is None
    assert Config.from_running(PAPER).pools["ldap_pool"].members == ()


def test_ipv4_sorts_before_ipv6():
    addrs = ["2001:db8::1", "198.18.0.10", "198.18.0.9", "::1"]
    assert sorted(addrs, key=address_key) == ["198.18.0.9", "198.18.0.10", "::1", "2001:db8::1"]


def test_lookups_between_pools_and_services():
    c = Config.from_running(PAPER)
    assert c.pool_for_service("SMTP").name == "mx_pool"
    assert c.pool_for_service("DNS") is None
    assert c.service_of_pool("ldap_pool").name == "LDAP"
    assert c.service_of_pool("nope") is None


def test_frozen():
    c = Config.from_running(PAPER)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.services["SMTP"].port = 26  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.pools["mx_pool"].members[0].weight = 3  # type: ignore[misc]


def test_large_pool_parsed_completely():
    members = "".join(
        f"<member><address>198.18.{i // 250}.{i % 250 + 1}</address>"
        + (f"<weight>{i % 7 + 1}</weight>" if i % 3 else "")
        + ("<admin-state>disabled</admin-state>" if i % 100 == 0 else "")
        + "</member>"
        for i in reversed(range(10_000))
    )
    c = Config.from_running(
        doc(
            "<services><service><name>A</name><address>198.19.0.1</address><port>80</port>"
            f"</service></services><pools><pool><name>p</name><service>A</service>{members}"
            "</pool></pools>"
        )
    )
    got = c.pools["p"].members
    assert len(got) == 10_000
    assert got[0].address == "198.18.0.1" and got[-1].address == "198.18.39.250"
    assert [address_key(m.address) for m in got] == sorted(address_key(m.address) for m in got)
    assert sum(m.admin_state == "disabled" for m in got) == 100
    assert got[1] == Member("198.18.0.2", None, 2, "enabled")
    assert got[0].weight == 1
