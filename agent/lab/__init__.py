"""The paper's testbed (Sections 2.1 and 4) rebuilt in network namespaces, for `reflex demo`
and `reflex experiment`: a public client, the Reflex device, and three server hosts."""
