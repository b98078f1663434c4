"""The lbsh commands, one module a subject; each registers its usage lines and handlers with
shell.grammar.command() when shell.grammar.commands() imports it."""
