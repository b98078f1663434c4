"""The words of a health check statement and the YANG leaves they set, shared by the parser's
handler (service NAME check ...) and the printer of `show configuration`."""

# placeholder (or flag word) of a check statement -> leaf under the service's check container
CHECK_LEAVES = {
    "CHECKPORT": "port", "INTERVAL": "interval", "TIMEOUT": "timeout", "RISE": "rise",
    "FALL": "fall",
    "SEND": "tcp/send", "EXPECT": "tcp/expect", "half-open": "tcp/half-open",
    "URLPATH": "http/path", "HOST": "http/host", "CODE": "http/expect-code",
    "BODY": "http/expect-body", "verify-tls": "http/verify-tls",
    "BANNER": "smtp/expect-banner", "HELO": "smtp/helo-name",
    "BASEDN": "ldap/base-dn",
    "RSECRET": "radius/secret", "RUSER": "radius/user", "RPASSWORD": "radius/password",
    "NASID": "radius/nas-identifier",
    "QNAME": "dns/query-name", "QTYPE": "dns/query-type", "RCODE": "dns/expect-rcode",
    "SCRIPT": "script/path",
}
SECRET_LEAVES = {"RSECRET": "radius secret", "RPASSWORD": "radius password"}
# words that stand alone and set a boolean leaf to true
FLAGS = ("verify-tls", "half-open")

# the statement word that introduces each placeholder
CHECK_WORDS = {
    "CHECKPORT": "port", "INTERVAL": "interval", "TIMEOUT": "timeout", "RISE": "rise",
    "FALL": "fall", "SEND": "send", "EXPECT": "expect", "URLPATH": "path", "HOST": "host",
    "CODE": "expect", "BODY": "body", "verify-tls": "verify-tls", "BANNER": "banner",
    "HELO": "helo", "BASEDN": "base", "RSECRET": "secret", "RUSER": "user",
    "RPASSWORD": "password", "NASID": "nas-identifier", "QNAME": "query", "QTYPE": "type",
    "RCODE": "rcode", "SCRIPT": "path", "half-open": "half-open",
}
