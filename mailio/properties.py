"""``$<<VAR>>`` templating and JavaMail-style ``.properties`` files.  [pure]

Admins paste the property sets that already work for their Java tools;
:func:`javamail_to_server_fields` turns them into :mod:`mailio.config` fields
and hands back what it could not use, so ``approvals check-config`` can say
so instead of silently dropping a line.

Templating: ``$<<NAME>>`` is replaced by NAME's value, ``$$<<`` is a literal
``$<<``. A value found in a file is expanded again (so variables may refer to
variables); a value from the environment is taken literally.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from mailio.errors import ConfigError, TemplateVariableError

Resolver = Callable[[str], str | None]
"""Returns a variable's value as a template (expanded again), or None when undefined."""

_REFERENCE = re.compile(r"\$\$<<|\$<<([A-Za-z_][A-Za-z0-9_.]*)>>|\$<<")
ENV_HINT = "set {name} in the environment"
PROPERTIES_HINT = "define {name} in the file, or set it in the environment"


def where(source: str, line: int | None) -> str:
    """``config/x.properties, line 4`` — the prefix of every message about a place in a file."""
    return source if line is None else f"{source}, line {line}"


def literal(value: str) -> str:
    """Escapes ``value`` so that :func:`expand` gives it back unchanged."""
    return value.replace("$<<", "$$<<")


def has_reference(text: str) -> bool:
    return "$<<" in text


def first_reference(text: str) -> str | None:
    """The first ``$<<NAME>>`` in ``text`` as written, used to find its line in a raw file."""
    for match in _REFERENCE.finditer(text):
        if match.group(0) != "$$<<":
            return match.group(0)
    return None


def expand(
    text: str,
    resolve: Resolver,
    *,
    source: str,
    line: int | None,
    hint: str = ENV_HINT,
    defines: str | None = None,
) -> str:
    """Replaces every ``$<<NAME>>`` in ``text``; ``hint`` says where NAME could be defined.

    ``defines`` names the variable whose value ``text`` is, so ``A=$<<A>>`` is a cycle.
    """
    place = where(source, line)

    def expand_within(template: str, stack: tuple[str, ...]) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$<<":
                return "$<<"
            name = match.group(1)
            if name is None:
                raise TemplateVariableError(
                    f"{place}: $<< must be followed by a variable name and >> "
                    f"(like $<<SMTP_PASSWORD>>); write $$<< for a literal $<<"
                )
            if name in stack:
                chain = " -> ".join((*stack[stack.index(name) + 1 :], name))
                raise TemplateVariableError(
                    f"{place}: $<<{name}>> refers to itself through {chain}"
                )
            value = resolve(name)
            if value is None:
                needed_by = f" (needed by $<<{stack[-1]}>>)" if len(stack) > len(start) else ""
                raise TemplateVariableError(
                    f"{place}: $<<{name}>> is not defined{needed_by}; {hint.format(name=name)}"
                )
            return expand_within(value, (*stack, name))

        return _REFERENCE.sub(replace, template)

    start = (defines,) if defines else ()
    return expand_within(text, start)


def first_of(*resolvers: Resolver) -> Resolver:
    """A resolver that asks each of ``resolvers`` in turn."""

    def resolve(name: str) -> str | None:
        for resolver in resolvers:
            value = resolver(name)
            if value is not None:
                return value
        return None

    return resolve


def from_mapping(values: Mapping[str, str]) -> Resolver:
    """Values that are templates themselves (a file's own definitions, a server's fields)."""
    return values.get


def from_environment(environ: Mapping[str, str]) -> Resolver:
    """Environment values are literal: a password containing ``$<<`` stays as it is."""

    def resolve(name: str) -> str | None:
        value = environ.get(name)
        return None if value is None else literal(value)

    return resolve


# --- server fields as variables -------------------------------------------------------------

_SECURE = frozenset({"starttls-if-available", "starttls-required", "tls"})
_SERVER_VARIABLES = {
    "smtp": ("SMTP_HOST_NAME", "SMTP_HOST_PORT", "SMTP_ENABLE_TLS"),
    "imap": ("IMAP_HOST_NAME", "IMAP_HOST_PORT", "IMAP_ENABLE_STARTTLS"),
}


def server_variables(server_type: object, table: Mapping[str, Any]) -> dict[str, str]:
    """``SMTP_HOST_NAME`` and friends, from a server's own TOML table (already expanded).

    A missing ``security`` means the model's default, ``starttls-required``.
    """
    names = _SERVER_VARIABLES.get(str(server_type))
    if names is None:
        return {}
    host_name, host_port, enable_tls = names
    result = {
        enable_tls: "true" if table.get("security", "starttls-required") in _SECURE else "false"
    }
    if isinstance(table.get("host"), str):
        result[host_name] = table["host"]
    if isinstance(table.get("port"), int | str) and not isinstance(table.get("port"), bool):
        result[host_port] = str(table["port"])
    return result


# --- .properties syntax ---------------------------------------------------------------------


@dataclass(frozen=True)
class Property:
    key: str
    value: str
    line: int  # where the (possibly continued) entry starts, 1-based


_WHITESPACE = " \t\f"
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def parse_properties(text: str, *, source: str) -> list[Property]:
    """Java ``Properties.load`` syntax: ``k=v``, ``k: v``, ``k v``, ``#``/``!`` comments,
    backslash continuation, backslash escapes including ``\\uXXXX``."""
    physical = re.split(r"\r\n|\r|\n", text)
    entries: list[Property] = []
    index = 0
    while index < len(physical):
        start = index
        logical = physical[index].lstrip(_WHITESPACE)
        index += 1
        if not logical or logical[0] in "#!":
            continue  # a comment line is never continued, even when it ends in a backslash
        while _continues(logical):
            logical = logical[:-1]
            if index == len(physical):
                break
            logical += physical[index].lstrip(_WHITESPACE)
            index += 1
        raw_key, raw_value = _split_entry(logical)
        line = start + 1
        entries.append(
            Property(
                _unescape(raw_key, source=source, line=line),
                _unescape(raw_value, source=source, line=line),
                line,
            )
        )
    return entries


def _continues(line: str) -> bool:
    trailing = len(line) - len(line.rstrip("\\"))
    return trailing % 2 == 1


def _split_entry(line: str) -> tuple[str, str]:
    position = 0
    while position < len(line):
        char = line[position]
        if char == "\\":
            position += 2
            continue
        if char in "=:" or char in _WHITESPACE:
            break
        position += 1
    key = line[:position]
    rest = line[position:].lstrip(_WHITESPACE)
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(_WHITESPACE)
    return key, rest


def _unescape(text: str, *, source: str, line: int) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char != "\\" or position + 1 == len(text):
            out.append(char)
            position += 1
            continue
        escaped = text[position + 1]
        if escaped == "u":
            digits = text[position + 2 : position + 6]
            if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                raise ConfigError(
                    f"{where(source, line)}: malformed \\uXXXX escape (\\u{digits}); "
                    f"write four hex digits, or \\\\u for a literal backslash-u"
                )
            out.append(chr(int(digits, 16)))
            position += 6
            continue
        out.append(_ESCAPES.get(escaped, escaped))
        position += 2
    return "".join(out)


def resolve_properties(
    entries: Sequence[Property],
    *,
    source: str,
    server_fields: Mapping[str, str],
    environ: Mapping[str, str],
) -> list[Property]:
    """Expands ``$<<VAR>>`` in keys and values.

    A variable is looked up in the file's own entries (the last definition wins,
    as in Java), then in the server's fields, then in the environment.
    """
    raw = {entry.key: entry.value for entry in entries}
    outside = (from_mapping(server_fields), from_environment(environ))

    def expand_here(text: str, resolve: Resolver, line: int, defines: str | None = None) -> str:
        return expand(
            text, resolve, source=source, line=line, hint=PROPERTIES_HINT, defines=defines
        )

    by_raw_key = first_of(from_mapping(raw), *outside)
    keys = [expand_here(entry.key, by_raw_key, entry.line) for entry in entries]
    # A value may name a key as it reads after expansion (mail.$<<P>>.host -> mail.smtp.host).
    defined = {**raw, **{key: entry.value for key, entry in zip(keys, entries, strict=True)}}
    by_key = first_of(from_mapping(defined), *outside)
    return [
        Property(key, expand_here(entry.value, by_key, entry.line, defines=key), entry.line)
        for key, entry in zip(keys, entries, strict=True)
    ]


# --- JavaMail properties -> server fields ---------------------------------------------------

_FAMILIES = {"smtp": ("smtp", "smtps"), "imap": ("imap", "imaps")}
_PROTOCOL_KEY = {"smtp": "mail.transport.protocol", "imap": "mail.store.protocol"}
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TLS_VERSIONS = {"TLSv1.2": 2, "TLSv1.3": 3}
_TOO_OLD = frozenset({"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"})
_SECURITY_RANK = {"starttls-if-available": 1, "starttls-required": 2, "tls": 3}
_COMMON_SUFFIXES = frozenset(
    {
        "host",
        "port",
        "auth",
        "user",
        "starttls.enable",
        "starttls.required",
        "ssl.enable",
        "socketFactory.class",
        "socketFactory.port",
        "socketFactory.fallback",
        "ssl.protocols",
        "ssl.trust",
        "ssl.checkserveridentity",
        "connectiontimeout",
        "timeout",
        "writetimeout",
    }
)
_SMTP_ONLY_SUFFIXES = frozenset({"from", "localhost"})


class MappedProperties(NamedTuple):
    """``fields`` for the server model, keys not used, and notices for the admin."""

    fields: dict[str, Any]
    unknown: list[str]
    notices: list[str]


def is_variable_definition(key: str) -> bool:
    """``SMTP_USER=...`` lines define variables for the file; they are not JavaMail settings."""
    return _VARIABLE_NAME.fullmatch(key) is not None


def javamail_to_server_fields(
    props: Sequence[Property] | Mapping[str, str],
    *,
    server_type: str | None = None,
    source: str = "<properties>",
) -> MappedProperties:
    """Maps ``mail.smtp.*`` / ``mail.smtps.*`` (or ``mail.imap.*`` / ``mail.imaps.*``) keys.

    ``server_type`` is ``smtp`` or ``imap``; when None it is guessed from the
    first protocol key. Keys of the other family are unknown for this server.
    Raises :class:`ConfigError` for values that cannot be honoured (TLSv1, a
    port that is not a number); returns everything it did not use in ``unknown``.
    """
    entries = _as_entries(props)
    family = server_type or _guess_family(entries)
    if family not in _FAMILIES:
        raise ConfigError(
            f"{source}: JavaMail properties describe smtp or imap servers, not {family!r}"
        )
    mapper = _Mapper(family, source, _active_protocol(entries, family))
    for entry in entries:
        mapper.take(entry)
    return mapper.result()


def _active_protocol(entries: Sequence[Property], family: str) -> str:
    """The protocol JavaMail would use: the one ``mail.transport.protocol`` (or
    ``mail.store.protocol``) names; else the secure one if only its keys are given;
    else the plain one. JavaMail reads only that protocol's ``mail.<protocol>.*`` keys."""
    plain, secure = _FAMILIES[family]
    for entry in reversed(entries):  # later lines win
        if entry.key == _PROTOCOL_KEY[family] and entry.value.strip() in (plain, secure):
            return entry.value.strip()
    keys = [entry.key for entry in entries]
    has_plain = any(key.startswith(f"mail.{plain}.") for key in keys)
    has_secure = any(key.startswith(f"mail.{secure}.") for key in keys)
    return secure if has_secure and not has_plain else plain


def _as_entries(props: Sequence[Property] | Mapping[str, str]) -> list[Property]:
    if isinstance(props, Mapping):
        return [Property(key, value, 0) for key, value in props.items()]
    return list(props)


def _guess_family(entries: Iterable[Property]) -> str:
    for entry in entries:
        for family, protocols in _FAMILIES.items():
            if any(entry.key.startswith(f"mail.{protocol}.") for protocol in protocols):
                return family
        if entry.key == "mail.store.protocol":
            return "imap"
    return "smtp"


class _Mapper:
    """Accumulates one properties file's fields; later lines win, as in Java."""

    def __init__(self, family: str, source: str, protocol: str) -> None:
        self.family = family
        self.source = source
        self.protocol = protocol
        self.fields: dict[str, Any] = {}
        self.timeouts: dict[str, float] = {}
        self.unknown: list[str] = []
        self.notices: list[str] = []
        self.security: str | None = None
        self.protocol_user: str | None = None
        self.generic_user: str | None = None
        self.port: int | None = None
        self.factory_port: int | None = None

    def where(self, entry: Property) -> str:
        return where(self.source, entry.line or None)

    def take(self, entry: Property) -> None:
        key = entry.key
        if is_variable_definition(key):
            return
        if key == "mail.user":
            self.generic_user = entry.value
            return
        if key == _PROTOCOL_KEY[self.family]:
            self._protocol(entry)
            return
        for protocol in _FAMILIES[self.family]:
            prefix = f"mail.{protocol}."
            if key.startswith(prefix) and protocol != self.protocol:
                self.unknown.append(key)
                self.notices.append(
                    f"{self.where(entry)}: {key} is ignored, as JavaMail ignores it: the "
                    f"protocol in use is {self.protocol} (set {_PROTOCOL_KEY[self.family]} "
                    f"= {protocol} to use mail.{protocol}.* keys)"
                )
                return
            if key.startswith(prefix):
                suffix = key[len(prefix) :]
                if suffix in _COMMON_SUFFIXES or (
                    self.family == "smtp" and suffix in _SMTP_ONLY_SUFFIXES
                ):
                    if protocol.endswith("s"):
                        self._raise_security("tls")
                    self._suffix(suffix, entry)
                    return
        self.unknown.append(key)

    def _protocol(self, entry: Property) -> None:
        value = entry.value.strip()
        if value not in _FAMILIES[self.family]:
            expected = " or ".join(_FAMILIES[self.family])
            raise ConfigError(
                f"{self.where(entry)}: {entry.key}: expected {expected}, got {value!r}"
            )
        if value.endswith("s"):
            self._raise_security("tls")

    def _raise_security(self, level: str) -> None:
        if self.security is None or _SECURITY_RANK[level] > _SECURITY_RANK[self.security]:
            self.security = level

    def _suffix(self, suffix: str, entry: Property) -> None:  # noqa: C901 - one branch per key
        value = entry.value.strip()
        if suffix == "host":
            self.fields["host"] = value
        elif suffix == "port":
            self.port = self._port(entry)
        elif suffix == "socketFactory.port":
            self.factory_port = self._port(entry)
        elif suffix == "auth":
            self.fields["auth"] = "password" if self._bool(entry) else "none"
        elif suffix == "user":
            self.protocol_user = value
        elif suffix == "from":
            self.fields["from_address"] = value
        elif suffix == "localhost":
            self.fields["local_hostname"] = value
        elif suffix == "starttls.enable":
            # false is not turned into security = "none": the safe default stays.
            if self._bool(entry):
                self._raise_security("starttls-if-available")
        elif suffix == "starttls.required":
            if self._bool(entry):
                self._raise_security("starttls-required")
        elif suffix == "ssl.enable":
            if self._bool(entry):
                self._raise_security("tls")
        elif suffix == "socketFactory.class":
            if not value.endswith("SSLSocketFactory"):
                raise ConfigError(
                    f"{self.where(entry)}: {entry.key}: only javax.net.ssl.SSLSocketFactory is "
                    f'understood (it means security = "tls"), got {value!r}; remove the line '
                    f"and set security, ca_file or proxy in the server's TOML table"
                )
            self._raise_security("tls")
        elif suffix == "socketFactory.fallback":
            self.notices.append(
                f"{self.where(entry)}: {entry.key} is ignored: this engine never falls back "
                f"to an unencrypted connection when TLS fails"
            )
        elif suffix == "ssl.protocols":
            self.fields["tls_min_version"] = self._tls_min_version(entry)
        elif suffix == "ssl.trust":
            self._trust(entry)
        elif suffix == "ssl.checkserveridentity":
            if not self._bool(entry):
                self.notices.append(
                    f"{self.where(entry)}: {entry.key}=false is ignored: the host name in the "
                    f"server's certificate is always checked when verify = true"
                )
        elif suffix == "connectiontimeout":
            self._timeout("connect", entry)
        else:  # timeout, writetimeout: one socket timeout here, the larger one wins
            self._timeout("socket", entry)

    def _bool(self, entry: Property) -> bool:
        value = entry.value.strip().lower()
        if value not in ("true", "false"):
            raise ConfigError(
                f"{self.where(entry)}: {entry.key}: expected true or false, got {entry.value!r}"
            )
        return value == "true"

    def _integer(self, entry: Property, what: str) -> int:
        value = entry.value.strip()
        if not re.fullmatch(r"-?\d+", value):
            raise ConfigError(f"{self.where(entry)}: {entry.key}: expected {what}, got {value!r}")
        return int(value)

    def _port(self, entry: Property) -> int:
        port = self._integer(entry, "an integer from 1 to 65535")
        if not 1 <= port <= 65535:
            raise ConfigError(
                f"{self.where(entry)}: {entry.key}: expected an integer from 1 to 65535, got {port}"
            )
        return port

    def _timeout(self, field: str, entry: Property) -> None:
        milliseconds = self._integer(entry, "milliseconds as an integer")
        if milliseconds <= 0:
            self.notices.append(
                f"{self.where(entry)}: {entry.key}={milliseconds} means 'wait forever' in "
                f"JavaMail; the engine keeps its own default {field} timeout instead"
            )
            return
        seconds = milliseconds / 1000
        self.timeouts[field] = max(seconds, self.timeouts.get(field, 0.0))

    def _tls_min_version(self, entry: Property) -> str:
        listed = [name for name in re.split(r"[\s,]+", entry.value.strip()) if name]
        too_old = [name for name in listed if name in _TOO_OLD]
        if too_old:
            raise ConfigError(
                f"{self.where(entry)}: {entry.key}: {', '.join(too_old)} not supported (too old "
                f"to be safe); list TLSv1.2 and/or TLSv1.3"
            )
        unknown = [name for name in listed if name not in _TLS_VERSIONS]
        if unknown or not listed:
            raise ConfigError(
                f"{self.where(entry)}: {entry.key}: expected TLSv1.2 and/or TLSv1.3, "
                f"got {entry.value.strip()!r}"
            )
        return min(listed, key=_TLS_VERSIONS.__getitem__)

    def _trust(self, entry: Property) -> None:
        value = entry.value.strip()
        if value == "*":
            self.fields["verify"] = False
            self.notices.append(
                f"{self.where(entry)}: WARNING: {entry.key}=* switches certificate checks OFF "
                f"for this server (verify = false): anyone on the network path can read the "
                f"password and every message. For a private CA, set ca_file instead."
            )
            return
        hosts = " ".join(value.split())
        self.notices.append(
            f"{self.where(entry)}: {entry.key} lists {hosts}: certificates are still verified "
            f"(verify stays true); if the server uses a private CA, set ca_file"
        )

    def result(self) -> MappedProperties:
        fields = dict(self.fields)
        port = self.factory_port if self.factory_port is not None else self.port
        if port is not None:
            fields["port"] = port
        if self.security is not None:
            fields["security"] = self.security
        user = self.protocol_user if self.protocol_user is not None else self.generic_user
        if user is not None:
            fields["username"] = user
        if self.timeouts:
            fields["timeouts"] = dict(self.timeouts)
        return MappedProperties(fields, self.unknown, self.notices)
