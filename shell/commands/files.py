"""`save` (the paper's: write the rendered packet-filter configuration, here or over sftp),
`save configuration` (a full backup, secrets included, over sftp) and `load` (a saved
configuration, XML or lbsh statements, into the candidate only)."""

from __future__ import annotations

from lxml import etree

from datastore import NS

from .. import sftp
from ..grammar import ShellError, command

# statements a loaded file may not hold: load never commits, nor reaches outside the candidate
NOT_IN_FILES = frozenset({"commit", "rollback", "discard", "load", "save", "lock", "unlock",
                          "exit", "quit"})

save = command(
    "save", "write the packet-filter configuration, or back up the configuration over sftp",
    ["save", "save /root/pf.conf", "save sftp://backup@192.168.2.9/lb1/pf.conf",
     "save configuration sftp://backup@192.168.2.9/lb1/config.xml"],
    ["'save' alone writes the rendered pf.conf or nft script where the bootstrap file",
     "says (FreeBSD: /etc/pf.conf). 'save configuration' writes the candidate as XML with",
     "its secrets (mode 0600) so that 'load' restores it whole."])


def _ask(ctx):
    return ctx.read_secret if ctx.interactive else None


@save.form("'save' 'configuration' SFTPURL")
def _save_config(ctx, a) -> None:
    data = etree.tostring(ctx.api.get("candidate"), xml_declaration=True, encoding="UTF-8",
                          pretty_print=True)
    path = _transfer(lambda: sftp.put(a.get("SFTPURL"), data, _ask(ctx)))
    ctx.write(f"Saved the configuration to {path}")


@save.form("'save' [URL]")
def _save(ctx, a) -> None:
    url = a.get("URL")
    if url and url.startswith("sftp://"):
        text = ctx.api.render()
        path = _transfer(lambda: sftp.put(url, text.encode(), _ask(ctx), mode=0o644))
    else:
        path = ctx.api.save(url)
    ctx.write(f"Saved the packet filter configuration to {path}")


def _transfer(fn):
    try:
        return fn()
    except sftp.SftpError as e:
        raise ShellError(str(e)) from None


load = command(
    "load", "load a saved configuration into the candidate (replace it, or merge into it)",
    ["load sftp://backup@192.168.2.9/lb1/config.xml",
     "load sftp://backup@192.168.2.9/lb1/extra.lbsh merge"],
    ["The file is XML (from 'save configuration') or lbsh statements (from 'show",
     "configuration'). 'replace' (the default) makes the candidate the file's configuration;",
     "'merge' adds the file to it. Nothing runs until 'commit'."])


@load.form("'load' SFTPURL ['merge'|'replace']")
def _load(ctx, a) -> None:
    mode = "merge" if a.has("merge") else "replace"
    data = _transfer(lambda: sftp.fetch(a.get("SFTPURL"), _ask(ctx)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ShellError("the file is neither XML nor lbsh statements (not UTF-8)") from None
    if text.lstrip().startswith("<"):
        ctx.api.load(text, mode)
        ctx.write(f"Loaded {a.get('SFTPURL')} into the candidate ({mode}); 'commit' applies it")
        return
    if mode == "replace":
        ctx.api.load(f'<reflex xmlns="{NS}"/>', "replace")
    ctx.invalidate()
    for n, line in enumerate(text.splitlines(), 1):
        if line.split()[:1] and line.split()[0] in NOT_IN_FILES:
            raise ShellError(f"line {n}: '{line.split()[0]}' may not be in a loaded file; "
                             "the candidate holds the lines before it ('discard' drops them)")
        try:
            ctx.execute(line, quiet=True)
        except ShellError as e:
            raise ShellError(f"line {n}: {e}; the candidate holds the lines before it "
                             "('discard' drops them)") from None
    ctx.write(f"Loaded {a.get('SFTPURL')} into the candidate ({mode}); 'commit' applies it")
