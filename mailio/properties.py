"""``$<<VAR>>`` templating and JavaMail-style ``.properties`` files.  [pure]

Admins paste the property sets that already work for their Java tools;
:func:`javamail_to_server_fields` turns them into :mod:`mailio.config` fields
and hands back what it could not use, so ``approvals check-config`` can say
so instead of silently dropping a line.

Templating: ``$<<NAME>>`` is replaced by NAME's value, ``$$<<`` is a literal
``$<<``. A value found in a file is expanded again (so variables may refer to
variables); a value from the environment is taken literally. In a properties
file FlexDeploy's ``${{NAME}}`` means the same as ``$<<NAME>>`` (``$${{`` is a
literal ``${{``), so the blocks FlexDeploy documents paste unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from mailio.errors import ConfigError, TemplateVariableError

Resolver = Callable[[str], str | None]
"""Returns a variable's value as a template (expanded again), or None when undefined."""

_NAME = r"[A-Za-z_][A-Za-z0-9_.]*"
_REFERENCE = re.compile(rf"\$\$<<|\$<<(?P<angle>{_NAME})>>|\$<<")
# Properties files also take FlexDeploy's ${{NAME}}; TOML does not (a "${{" there is text).
_FILE_REFERENCE = re.compile(
    rf"\$\$<<|\$\$\{{\{{|\$<<(?P<angle>{_NAME})>>|\$\{{\{{(?P<brace>{_NAME})\}}\}}|\$<<|\$\{{\{{"
)
ENV_HINT = "set {name} in the environment"
PROPERTIES_HINT = "define {name} in the file, or set it in the environment"


class _Literal(str):
    """A value from the environment: never expanded again, whatever syntax it contains."""


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
    hint: str | Callable[[str], str] = ENV_HINT,
    defines: str | None = None,
    flexdeploy: bool = False,
) -> str:
    """Replaces every ``$<<NAME>>`` in ``text``; ``hint`` says where NAME could be defined.

    ``defines`` names the variable whose value ``text`` is, so ``A=$<<A>>`` is a cycle.
    ``flexdeploy``: ``${{NAME}}`` is a reference too (in properties files).
    """
    place = where(source, line)
    pattern = _FILE_REFERENCE if flexdeploy else _REFERENCE

    def advice(name: str) -> str:
        return hint.format(name=name) if isinstance(hint, str) else hint(name)

    def expand_within(template: str, stack: tuple[str, ...]) -> str:
        def replace(match: re.Match[str]) -> str:
            written = match.group(0)
            if written.startswith("$$"):
                return written[1:]
            opener = written[:3]
            closer = ">>" if opener == "$<<" else "}}"
            name = match.group("angle") or (match.group("brace") if flexdeploy else None)
            if name is None:
                raise TemplateVariableError(
                    f"{place}: {opener} must be followed by a variable name and {closer} "
                    f"(like {opener}SMTP_PASSWORD{closer}); write ${opener} for a literal {opener}"
                )
            if name in stack:
                chain = " -> ".join((*stack[stack.index(name) + 1 :], name))
                raise TemplateVariableError(
                    f"{place}: {opener}{name}{closer} refers to itself through {chain}"
                )
            value = resolve(name)
            if value is None:
                needed_by = (
                    f" (needed by {opener}{stack[-1]}{closer})" if len(stack) > len(start) else ""
                )
                raise TemplateVariableError(
                    f"{place}: {opener}{name}{closer} is not defined{needed_by}; {advice(name)}"
                )
            if isinstance(value, _Literal):
                return str(value)
            return expand_within(value, (*stack, name))

        return pattern.sub(replace, template)

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
        return None if value is None else _Literal(value)

    return resolve


# --- server fields as variables -------------------------------------------------------------

_STARTTLS = frozenset({"starttls-if-available", "starttls-required"})
_SERVER_VARIABLES = {
    "smtp": ("SMTP_HOST_NAME", "SMTP_HOST_PORT", "SMTP_ENABLE_TLS"),
    "imap": ("IMAP_HOST_NAME", "IMAP_HOST_PORT", "IMAP_ENABLE_STARTTLS"),
}
_VARIABLE_FIELDS = {
    "SMTP_HOST_NAME": "host",
    "SMTP_HOST_PORT": "port",
    "IMAP_HOST_NAME": "host",
    "IMAP_HOST_PORT": "port",
}


def server_variables(server_type: object, table: Mapping[str, Any]) -> dict[str, str]:
    """``SMTP_HOST_NAME`` and friends (FlexDeploy's names), from a server's own TOML table
    (already expanded).

    ``SMTP_ENABLE_TLS`` / ``IMAP_ENABLE_STARTTLS`` are FlexDeploy's "Enable STARTTLS"
    fields: true for the two STARTTLS modes, false for ``tls`` and ``none``. ``PROTOCOL``
    is the JavaMail protocol the table implies: ``smtps`` / ``imaps`` for ``security =
    "tls"``, else ``smtp`` / ``imap``; a ``PROTOCOL=`` line in the file overrides it, as
    in FlexDeploy. A missing ``security`` means the model's default, ``starttls-required``.
    """
    names = _SERVER_VARIABLES.get(str(server_type))
    if names is None:
        return {}
    host_name, host_port, enable_tls = names
    security = table.get("security", "starttls-required")
    result = {
        enable_tls: "true" if security in _STARTTLS else "false",
        "PROTOCOL": f"{server_type}s" if security == "tls" else str(server_type),
    }
    if isinstance(table.get("host"), str):
        result[host_name] = table["host"]
    if isinstance(table.get("port"), int | str) and not isinstance(table.get("port"), bool):
        result[host_port] = str(table["port"])
    return result


def _properties_hint(name: str) -> str:
    field = _VARIABLE_FIELDS.get(name)
    if field is None:
        return PROPERTIES_HINT.format(name=name)
    return (
        f"{name} is the server table's {field}: set {field} in the server's TOML table, "
        f"or define {name} in the file"
    )


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
    """Expands ``$<<VAR>>`` and FlexDeploy's ``${{VAR}}`` in keys and values.

    A variable is looked up in the file's own entries (the last definition wins,
    as in Java), then in the server's fields, then in the environment.
    """
    raw = {entry.key: entry.value for entry in entries}
    outside = (from_mapping(server_fields), from_environment(environ))

    def expand_here(text: str, resolve: Resolver, line: int, defines: str | None = None) -> str:
        return expand(
            text,
            resolve,
            source=source,
            line=line,
            hint=_properties_hint,
            defines=defines,
            flexdeploy=True,
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
        "class",
    }
)
# JavaMail's own provider classes (javax/jakarta "com.sun.mail", Angus "org.eclipse.angus.mail").
_PROVIDER_CLASSES = {
    "smtp": {"smtp.SMTPTransport": "smtp", "smtp.SMTPSSLTransport": "smtps"},
    "imap": {"imap.IMAPStore": "imap", "imap.IMAPSSLStore": "imaps"},
}
_SMTP_ONLY_SUFFIXES = frozenset({"from", "localhost"})


class MappedProperties(NamedTuple):
    """``fields`` for the server model, keys not used, and notices for the admin.

    ``origins``: for each field (``timeouts.connect`` for a nested one), the line that set it.
    """

    fields: dict[str, Any]
    unknown: list[str]
    notices: list[str]
    origins: dict[str, Property]


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
    ``mail.store.protocol``) names, else FlexDeploy's ``PROTOCOL=`` line; else the secure
    one if only its keys are given; else the plain one. JavaMail reads only that
    protocol's ``mail.<protocol>.*`` keys."""
    plain, secure = _FAMILIES[family]
    for key in (_PROTOCOL_KEY[family], "PROTOCOL"):
        for entry in reversed(entries):  # later lines win
            if entry.key == key and entry.value.strip() in (plain, secure):
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
        self.generic_origin: Property | None = None
        self.port: Property | None = None
        self.factory_port: Property | None = None
        self.security_origin: Property | None = None
        self.user_origin: Property | None = None
        self.origins: dict[str, Property] = {}
        self.timeout_origins: dict[str, Property] = {}

    def where(self, entry: Property) -> str:
        return where(self.source, entry.line or None)

    def take(self, entry: Property) -> None:
        key = entry.key
        if is_variable_definition(key):
            return
        if key == "mail.user":
            self.generic_user = entry.value
            self.generic_origin = entry
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
                        self._raise_security("tls", entry)
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
            self._raise_security("tls", entry)

    def _raise_security(self, level: str, entry: Property) -> None:
        if self.security is None or _SECURITY_RANK[level] > _SECURITY_RANK[self.security]:
            self.security = level
            self.security_origin = entry

    def _set(self, field: str, value: Any, entry: Property) -> None:
        self.fields[field] = value
        self.origins[field] = entry

    def _suffix(self, suffix: str, entry: Property) -> None:  # noqa: C901 - one branch per key
        value = entry.value.strip()
        if suffix == "host":
            self._set("host", value, entry)
        elif suffix == "port":
            _port(self.where(entry), entry)
            self.port = entry
        elif suffix == "socketFactory.port":
            _port(self.where(entry), entry)
            self.factory_port = entry
        elif suffix == "auth":
            self._set("auth", "password" if _bool(self.where(entry), entry) else "none", entry)
        elif suffix == "user":
            self.protocol_user = value
            self.user_origin = entry
        elif suffix == "from":
            self._set("from_address", value, entry)
        elif suffix == "localhost":
            self._set("local_hostname", value, entry)
        elif suffix == "starttls.enable":
            # false is not turned into security = "none": the safe default stays.
            if _bool(self.where(entry), entry):
                self._raise_security("starttls-if-available", entry)
        elif suffix == "starttls.required":
            if _bool(self.where(entry), entry):
                self._raise_security("starttls-required", entry)
        elif suffix == "ssl.enable":
            if _bool(self.where(entry), entry):
                self._raise_security("tls", entry)
        elif suffix == "class":
            self._provider_class(entry)
        elif suffix == "socketFactory.class":
            if not value.endswith("SSLSocketFactory"):
                raise ConfigError(
                    f"{self.where(entry)}: {entry.key}: only javax.net.ssl.SSLSocketFactory is "
                    f'understood (it means security = "tls"), got {value!r}; remove the line '
                    f"and set security, ca_file or proxy in the server's TOML table"
                )
            self._raise_security("tls", entry)
        elif suffix == "socketFactory.fallback":
            self.notices.append(
                f"{self.where(entry)}: {entry.key} is ignored: this engine never falls back "
                f"to an unencrypted connection when TLS fails"
            )
        elif suffix == "ssl.protocols":
            self._set("tls_min_version", _tls_min_version(self.where(entry), entry), entry)
        elif suffix == "ssl.trust":
            self._trust(entry)
        elif suffix == "ssl.checkserveridentity":
            if not _bool(self.where(entry), entry):
                self.notices.append(
                    f"{self.where(entry)}: {entry.key}=false is ignored: the host name in the "
                    f"server's certificate is always checked when verify = true"
                )
        elif suffix == "connectiontimeout":
            self._timeout("connect", entry)
        else:  # timeout, writetimeout: one socket timeout here, the larger one wins
            self._timeout("socket", entry)

    def _provider_class(self, entry: Property) -> None:
        value = entry.value.strip()
        for suffix, protocol in _PROVIDER_CLASSES[self.family].items():
            if value.endswith(f".mail.{suffix}"):
                if protocol.endswith("s"):
                    self._raise_security("tls", entry)
                return
        known = ", ".join(_PROVIDER_CLASSES[self.family])
        raise ConfigError(
            f"{self.where(entry)}: {entry.key}: only JavaMail's own {known} are understood, "
            f"got {value!r}; remove the line"
        )

    def _timeout(self, field: str, entry: Property) -> None:
        milliseconds = _integer(self.where(entry), entry, "milliseconds as an integer")
        if milliseconds <= 0:
            self.notices.append(
                f"{self.where(entry)}: {entry.key}={milliseconds} means 'wait forever' in "
                f"JavaMail; the engine keeps its own default {field} timeout instead"
            )
            return
        seconds = milliseconds / 1000
        if seconds >= self.timeouts.get(field, 0.0):
            self.timeouts[field] = seconds
            self.timeout_origins[field] = entry

    def _trust(self, entry: Property) -> None:
        value = entry.value.strip()
        if value == "*":
            self._set("verify", False, entry)
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
        origins = dict(self.origins)
        port = self.factory_port if self.factory_port is not None else self.port
        if port is not None:
            fields["port"] = int(port.value.strip())
            origins["port"] = port
        if self.security is not None and self.security_origin is not None:
            fields["security"] = self.security
            origins["security"] = self.security_origin
        if self.protocol_user is not None and self.user_origin is not None:
            fields["username"] = self.protocol_user
            origins["username"] = self.user_origin
        elif self.generic_user is not None and self.generic_origin is not None:
            fields["username"] = self.generic_user
            origins["username"] = self.generic_origin
        if self.timeouts:
            fields["timeouts"] = dict(self.timeouts)
            origins.update({f"timeouts.{k}": v for k, v in self.timeout_origins.items()})
        return MappedProperties(fields, self.unknown, self.notices, origins)


# --- the file against the server's TOML table -----------------------------------------------


def _bool(at: str, entry: Property) -> bool:
    value = entry.value.strip().lower()
    if value not in ("true", "false"):
        raise ConfigError(f"{at}: {entry.key}: expected true or false, got {entry.value!r}")
    return value == "true"


def _integer(at: str, entry: Property, what: str) -> int:
    value = entry.value.strip()
    if not re.fullmatch(r"-?\d+", value):
        raise ConfigError(f"{at}: {entry.key}: expected {what}, got {value!r}")
    return int(value)


def _port(at: str, entry: Property) -> int:
    port = _integer(at, entry, "an integer from 1 to 65535")
    if not 1 <= port <= 65535:
        raise ConfigError(f"{at}: {entry.key}: expected an integer from 1 to 65535, got {port}")
    return port


def _tls_min_version(at: str, entry: Property) -> str:
    listed = [name for name in re.split(r"[\s,]+", entry.value.strip()) if name]
    too_old = [name for name in listed if name in _TOO_OLD]
    if too_old:
        raise ConfigError(
            f"{at}: {entry.key}: {', '.join(too_old)} not supported (too old "
            f"to be safe); list TLSv1.2 and/or TLSv1.3"
        )
    unknown = [name for name in listed if name not in _TLS_VERSIONS]
    if unknown or not listed:
        raise ConfigError(
            f"{at}: {entry.key}: expected TLSv1.2 and/or TLSv1.3, got {entry.value.strip()!r}"
        )
    return min(listed, key=_TLS_VERSIONS.__getitem__)


class Disagreement(NamedTuple):
    """A setting the TOML table and a properties line both give, with different values."""

    field: str  # as in the TOML table: "host", "timeouts.connect"
    entry: Property  # the properties line
    file_value: Any
    table_value: Any


def disagreements(mapped: MappedProperties, table: Mapping[str, Any]) -> list[Disagreement]:
    """Where ``mapped`` (from a properties file) contradicts what ``table`` states explicitly.

    Two spellings of one intent agree: ``starttls.enable=true`` (use STARTTLS when
    offered) with ``security = "starttls-required"``, and ``auth=true`` (log in) with
    ``auth = "oauth2"``.
    """
    found = []
    for field, entry in mapped.origins.items():
        path = field.split(".")
        file_value: Any = mapped.fields
        table_value: Any = table
        for part in path:
            file_value = file_value[part]
            if not isinstance(table_value, Mapping) or part not in table_value:
                break
            table_value = table_value[part]
        else:
            if not _agree(field, file_value, table_value):
                found.append(Disagreement(field, entry, file_value, table_value))
    return sorted(found, key=lambda disagreement: disagreement.entry.line)


def _agree(field: str, from_file: Any, from_table: Any) -> bool:
    if field == "security" and (from_file, from_table) == (
        "starttls-if-available",
        "starttls-required",
    ):
        return True
    if field == "auth" and (from_file, from_table) == ("password", "oauth2"):
        return True
    if field == "port" or field.startswith("timeouts."):
        try:
            return float(from_file) == float(from_table)
        except (TypeError, ValueError):
            return False  # the table's value is not a number: validation says so later
    return bool(from_file == from_table)
