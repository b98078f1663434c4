"""lbsh: the Reflex administration shell (language, line editor, batch mode, ssh server,
control client)."""
