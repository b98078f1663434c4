"""pysmi output for REFLEX-LB-MIB and the imports pysnmp does not bundle (tools/compile_mib.py)."""
