"""reflexd: the daemon that wires the datastore, packet filter, health poller, SNMP agent, HA and the lbsh servers together."""
