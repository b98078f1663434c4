"""The directory the demo's LDAP servers hold (paper Section 4.2): ourdomain.tld's people and
the `authors` mail alias, as an OpenLDAP slapd.conf and an LDIF loaded with slapadd."""

from __future__ import annotations

import subprocess
from pathlib import Path

SUFFIX = "dc=ourdomain,dc=tld"
DOMAIN = "ourdomain.tld"
PEOPLE = {"kzorba": "Kostas Zorbadelos", "loverdos": "Christos Loverdos", "ad": "Alex Delis"}
ALIAS = "authors"

SCHEMAS = ("core", "cosine", "nis", "misc", "inetorgperson")  # misc: nisMailAlias


def ldif() -> str:
    out = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: ourdomain\n"
           "dc: ourdomain\n",
           f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n",
           f"dn: ou=aliases,{SUFFIX}\nobjectClass: organizationalUnit\nou: aliases\n"]
    for uid, name in PEOPLE.items():
        out.append(f"dn: uid={uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
                   f"cn: {name}\nsn: {name.split()[-1]}\nmail: {uid}@{DOMAIN}\n")
    members = "".join(f"rfc822MailMember: {uid}@{DOMAIN}\n" for uid in PEOPLE)
    out.append(f"dn: cn={ALIAS},ou=aliases,{SUFFIX}\nobjectClass: nisMailAlias\ncn: {ALIAS}\n"
               f"{members}")
    return "\n".join(out)


def prepare(folder: Path) -> Path:
    """A slapd.conf and its loaded mdb database under folder; returns the conf path."""
    db = folder / "db"
    db.mkdir(parents=True, exist_ok=True)
    conf = folder / "slapd.conf"
    includes = "".join(f"include /etc/ldap/schema/{s}.schema\n" for s in SCHEMAS)
    conf.write_text(
        f"{includes}pidfile {folder}/slapd.pid\nargsfile {folder}/slapd.args\n"
        "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
        f'database mdb\nsuffix "{SUFFIX}"\nrootdn "cn=admin,{SUFFIX}"\n'
        f"directory {db}\nmaxsize 10485760\n"
        "access to * by * read\n")
    (folder / "directory.ldif").write_text(ldif())
    subprocess.run(["slapadd", "-f", str(conf), "-l", str(folder / "directory.ldif")],
                   check=True, capture_output=True, timeout=60)
    return conf
