"""reflexd: the daemon that wires the datastore, the packet filter, the health poller, the
SNMP agent, HA and the lbsh servers together."""
