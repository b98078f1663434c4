"""SNMPv3: the USM users of the configuration in pysnmp's engine, and a command responder that
answers authenticated requests from the same Index as the v2c fast path."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lxml import etree
from pyasn1.codec.ber import decoder
from pyasn1.type import univ
from pysnmp.entity import config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import cmdrsp
from pysnmp.proto import rfc1905
from pysnmp.proto.api import v2c

from . import ber
from .responder import respond
from .tables import q

log = logging.getLogger("reflex.snmp")

AUTH = {
    "sha": config.USM_AUTH_HMAC96_SHA,
    "sha-224": config.USM_AUTH_HMAC128_SHA224,
    "sha-256": config.USM_AUTH_HMAC192_SHA256,
    "sha-384": config.USM_AUTH_HMAC256_SHA384,
    "sha-512": config.USM_AUTH_HMAC384_SHA512,
}
PRIV = {"aes": config.USM_PRIV_CFB128_AES}
LEVEL = {"auth-no-priv": 2, "auth-priv": 3}  # USM securityLevel numbers
LEVEL_NAME = {2: "authNoPriv", 3: "authPriv"}
PDU_TAG = {
    rfc1905.GetRequestPDU.tagSet: ber.GET,
    rfc1905.GetNextRequestPDU.tagSet: ber.GETNEXT,
    rfc1905.GetBulkRequestPDU.tagSet: ber.GETBULK,
    rfc1905.SetRequestPDU.tagSet: ber.SET,
}
AUTHORIZATION_ERROR = 16
SCOPED_PDU_OVERHEAD = 64  # contextEngineID, contextName, PDU header


@dataclass(frozen=True)
class User:
    name: str
    level: int
    auth: str
    auth_password: str
    priv_password: str | None

    @classmethod
    def parse(cls, e: etree._Element) -> User:
        return cls(e.findtext(q("name")), LEVEL[e.findtext(q("security-level"))],
                   e.findtext(q("auth-protocol")) or "sha-256", e.findtext(q("auth-password")),
                   e.findtext(q("priv-password")))


def users_of(running: etree._Element) -> dict[str, User]:
    return {u.name: u for u in map(User.parse, running.iterfind(f"{q('snmp')}/{q('user')}"))}


def set_users(engine: SnmpEngine, old: dict[str, User], new: dict[str, User]) -> None:
    """Make the engine's USM table hold exactly new (pass phrases localized to our engine)."""
    for name, u in old.items():
        if new.get(name) != u:
            config.delete_v3_user(engine, name)
    for name, u in new.items():
        if old.get(name) == u:
            continue
        priv = u.level == 3 and u.priv_password
        config.add_v3_user(engine, name, AUTH[u.auth], u.auth_password,
                           PRIV["aes"] if priv else config.USM_PRIV_NONE,
                           u.priv_password if priv else None)


def _unwrap(value):
    # the decoded value sits inside the _BindValue, ObjectSyntax, SimpleSyntax... choices
    while isinstance(value, univ.Choice):
        value = value.getComponent()
    return value


def decode_varbind(encoded: bytes) -> tuple[univ.ObjectIdentifier, object]:
    vb, _ = decoder.decode(encoded, asn1Spec=rfc1905.VarBind())
    return vb[0], _unwrap(vb[1])


class Responder(cmdrsp.CommandResponderBase):
    """GET/GETNEXT/GETBULK (and a refused SET) for the configured USM users."""

    SUPPORTED_PDU_TYPES = tuple(PDU_TAG)

    def __init__(self, engine: SnmpEngine, context, agent) -> None:
        super().__init__(engine, context)
        self.agent = agent
        self._max_size = 484

    def process_pdu(self, snmpEngine, messageProcessingModel, securityModel, securityName,
                    securityLevel, contextEngineId, contextName, pduVersion, PDU,
                    maxSizeResponseScopedPDU, stateReference):
        self._max_size = int(maxSizeResponseScopedPDU)
        super().process_pdu(snmpEngine, messageProcessingModel, securityModel, securityName,
                            securityLevel, contextEngineId, contextName, pduVersion, PDU,
                            maxSizeResponseScopedPDU, stateReference)

    def handle_management_operation(self, snmpEngine, stateReference, contextName, PDU):
        ctx = snmpEngine.observer.get_execution_context("rfc3412.receiveMessage:request")
        name = str(ctx["securityName"])
        user = self.agent.users.get(name)
        req = v2c.apiPDU.get_varbinds(PDU)
        index = self.agent.index
        if (not self.agent.enabled or index is None or ctx["securityModel"] != 3
                or user is None or int(ctx["securityLevel"]) < user.level):
            self.send_varbinds(snmpEngine, stateReference, AUTHORIZATION_ERROR, 1, req)
            return
        tag = PDU_TAG[PDU.tagSet]
        a = b = 0
        if tag == ber.GETBULK:
            a = int(v2c.apiBulkPDU.get_non_repeaters(PDU))
            b = int(v2c.apiBulkPDU.get_max_repetitions(PDU))
        oids = [tuple(oid) for oid, _ in req]
        status, err_index, encoded = respond(index, tag, a, b, oids,
                                             self._max_size - SCOPED_PDU_OVERHEAD)
        if tag == ber.SET:
            self.send_varbinds(snmpEngine, stateReference, status, err_index, req)
            return
        self.send_varbinds(snmpEngine, stateReference, status, err_index,
                           [decode_varbind(vb) for vb in encoded])
