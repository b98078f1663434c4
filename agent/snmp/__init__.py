"""The SNMP agent: REFLEX-LB-MIB served from the running config and the operational tree.

One role a file: `mib` (the pysmi-compiled module in `generated/`, by name), `tables` (what is
served, built from running), `index` (the sorted index of encoded varbinds it is built into),
`responder` (GET/GETNEXT/GETBULK over the index), `ber` (the hand-written encoding), `v2c`
(communities, answered on the socket), `v3` (USM users and the responder under pysnmp's engine),
`traps` (events to notifications), `agent` (SnmpAgent: wiring, commits, lifecycle).
"""
