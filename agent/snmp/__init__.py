"""The SNMP agent: REFLEX-LB-MIB served from the running config and the operational tree."""
