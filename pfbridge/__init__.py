"""pfbridge: turns commits and member status changes into packet-filter state (nftables on Linux, PF on BSD)."""
