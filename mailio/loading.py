"""Loading a TOML configuration into a pydantic settings model.

:func:`load_config` reads the file, expands ``$<<VAR>>`` references, merges
each server's JavaMail ``properties_file`` under its TOML keys (TOML wins),
resolves relative paths against the config file's folder and validates. Every
problem becomes one :class:`~mailio.errors.ConfigError` line naming the file and
the table and key (or line) to fix. It reads files and nothing else: the
scheduler calls it at every cycle so that edits take effect without a restart.

Generic over the model, so that this package needs nothing from ``approvals``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import annotated_types
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from mailio import properties
from mailio.errors import ConfigError

T = TypeVar("T", bound=BaseModel)

PATH_KEYS = frozenset(
    {"ca_file", "client_cert", "client_key", "properties_file", "templates_dir", "certificate_file"}
)
# Set by the loader, never by the file.
_LOADER_FIELDS = ("config_path", "notices")
_SQLITE_URL = re.compile(r"^(sqlite(?:\+\w+)?):///(?!/)(?!:memory:)(?!file:)([^?]+)(.*)$", re.S)
# The password runs to the LAST "@" before the host: passwords may contain "@" unescaped.
_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^:/@\s]*:)(\S*)(@[^@\s/]*)")
MASK = "********"


def load_config(path: Path, model: type[T], *, environ: Mapping[str, str] | None = None) -> T:
    """Reads ``path`` into ``model``; raises :class:`ConfigError` naming file and key.

    When ``model`` has a ``config_path`` field it receives the absolute path of
    the file; when it has a ``notices`` field it receives what the admin should
    read (unused properties, certificate checks switched off).
    """
    loader = _Loader(Path(path), os.environ if environ is None else environ)
    data = loader.read()
    if "config_path" in model.model_fields:
        data["config_path"] = loader.path.absolute()
    if "notices" in model.model_fields:
        data["notices"] = tuple(loader.notices)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        lines = [loader.describe_problem(model, problem) for problem in error.errors()]
        raise ConfigError("\n".join(lines)) from None


class _Loader:
    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path = path
        self.display = str(path)
        self.base = path.absolute().parent
        self.environ = environ
        self.notices: list[str] = []
        self.raw_text = ""
        self.lines: _TomlLines | None = None

    # -- reading --------------------------------------------------------------------------

    def read(self) -> dict[str, Any]:
        try:
            self.raw_text = self.path.read_bytes().decode("utf-8-sig")
        except OSError as error:
            raise ConfigError(
                f"{self.display}: cannot read the configuration file ({error.strerror or error})"
            ) from None
        except UnicodeDecodeError as error:
            line = self.path.read_bytes()[: error.start].count(b"\n") + 1
            raise ConfigError(f"{self.display}, line {line}: not valid UTF-8 text") from None
        try:
            data = tomllib.loads(self.raw_text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{self.display}{_toml_position(str(error))}") from None
        self.lines = _TomlLines(self.raw_text)
        for reserved in _LOADER_FIELDS:
            if reserved in data:
                raise ConfigError(
                    f"{self.display}, {reserved}: unknown key (the loader sets it; remove the line)"
                )
        env = properties.from_environment(self.environ)
        result: dict[str, Any] = {}
        for key, value in data.items():
            if key == "servers" and isinstance(value, dict):
                result[key] = {name: self._server(name, table) for name, table in value.items()}
            else:
                result[key] = self._expand_tree(value, (key,), env)
        _resolve_paths(result, self.base)
        return result

    def _server(self, name: str, table: Any) -> Any:
        if not isinstance(table, dict):
            return table  # validation says "expected a table"
        path = ("servers", name)
        env = properties.from_environment(self.environ)
        # host/port/security first: the other keys (and the properties file) may use them.
        identity = {
            key: self._expand_tree(table[key], (*path, key), env)
            for key in ("type", "host", "port", "security")
            if key in table
        }
        own = properties.server_variables(identity.get("type"), identity)
        resolve = properties.first_of(properties.from_mapping(own), env)
        expanded = {
            key: identity[key]
            if key in identity
            else self._expand_tree(value, (*path, key), resolve)
            for key, value in table.items()
        }
        expanded["name"] = name
        _resolve_paths(expanded, self.base)
        if expanded.get("verify") is False:
            self.notices.append(
                f"{self.display}, [{_table_name(path)}] verify = false: WARNING: certificates "
                f"are NOT checked; anyone on the network path can read the password and the "
                f"mail. For a private CA, set ca_file instead."
            )
        properties_file = expanded.get("properties_file")
        if isinstance(properties_file, Path):
            extra = self._properties(name, expanded, properties_file, own)
            expanded = _merge_under(expanded, extra)
        return expanded

    def _properties(
        self, name: str, table: dict[str, Any], file: Path, own: Mapping[str, str]
    ) -> dict[str, Any]:
        location = f"{self.display}, [{_table_name(('servers', name))}] properties_file"
        display = self._display_path(file)
        try:
            data = file.read_bytes()
        except OSError as error:
            raise ConfigError(
                f"{location}: cannot read {display} ({error.strerror or error})"
            ) from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")  # what Java's Properties.load(InputStream) reads
        server_type = table.get("type")
        if server_type not in ("smtp", "imap"):
            raise ConfigError(
                f"{location}: only smtp and imap servers read JavaMail properties "
                f"(this server's type is {json.dumps(server_type)})"
            )
        entries = properties.parse_properties(text, source=display)
        entries = properties.resolve_properties(
            entries, source=display, server_fields=own, environ=self.environ
        )
        mapped = properties.javamail_to_server_fields(
            entries, server_type=server_type, source=display
        )
        lines = {entry.key: entry.line for entry in entries}
        unused = [
            f"{properties.where(display, lines.get(key))}: {key} is not used for "
            f"{server_type} server [servers.{name}]; the line is ignored"
            for key in mapped.unknown
        ]
        if not mapped.fields:
            raise ConfigError(
                "\n".join(
                    [
                        f"{display}: no line in it sets anything for {server_type} server "
                        f"[servers.{name}] ({location}); fix the lines below, or remove "
                        f"properties_file",
                        *mapped.notices,
                        *unused,
                    ]
                )
            )
        contradictions = properties.disagreements(mapped, table)
        if contradictions:
            raise ConfigError(
                "\n".join(self._contradiction(name, display, found) for found in contradictions)
            )
        self.notices.extend(mapped.notices)
        self.notices.extend(unused)
        fields = dict(mapped.fields)
        if fields.get("security") == "starttls-if-available" and "security" not in table:
            # starttls.enable=true (FlexDeploy's ${{SMTP_ENABLE_TLS}} echoes this very
            # default) does not lower the default "starttls-required"; the table may.
            del fields["security"]
        return fields

    def _contradiction(self, name: str, display: str, found: properties.Disagreement) -> str:
        path = ("servers", name, *found.field.split("."))
        secret = _is_secret(None, path) or _is_secret(None, (found.entry.key,))
        in_file = MASK if secret else found.entry.value.strip()
        in_table = json.dumps(MASK) if secret else _show(found.table_value)
        line = self.lines.key_line(path) if self.lines is not None else None
        return (
            f"{properties.where(display, found.entry.line or None)}: "
            f"{found.entry.key}={in_file} contradicts {properties.where(self.display, line)}: "
            f"[{_table_name(path[:2])}] {found.field} = {in_table}; "
            f"remove one of the two, or make them agree"
        )

    def _display_path(self, file: Path) -> str:
        """The file as the admin would name it: beside the config file's name as given."""
        try:
            return str(self.path.parent / file.relative_to(self.base))
        except ValueError:
            return str(file)

    def _expand_tree(self, value: Any, path: tuple[str | int, ...], resolve: Any) -> Any:
        if isinstance(value, str):
            if not properties.has_reference(value):
                return _resolve_sqlite_url(value, self.base)
            line = self._line_of(path, value)
            expanded = properties.expand(value, resolve, source=self.display, line=line)
            return _resolve_sqlite_url(expanded, self.base)
        if isinstance(value, dict):
            tree = {
                key: self._expand_tree(item, (*path, key), resolve) for key, item in value.items()
            }
            _resolve_paths(tree, self.base)
            return tree
        if isinstance(value, list):
            return [
                self._expand_tree(item, (*path, index), resolve) for index, item in enumerate(value)
            ]
        return value

    def _line_of(self, path: tuple[str | int, ...], value: str) -> int | None:
        needle = properties.first_reference(value)
        if needle is None or self.lines is None:
            return None
        return self.lines.find(tuple(str(part) for part in path if isinstance(part, str)), needle)

    # -- problems -------------------------------------------------------------------------

    def describe_problem(self, model: type[BaseModel], problem: ErrorDetails) -> str:
        located = _locate(model, problem["loc"])
        path = located.path
        kind = problem["type"]
        if located.named_table and len(path) == 2 and not isinstance(problem["input"], dict):
            # Not a table, so not a table named by the admin: a misspelt key.
            located = located._replace(named_table=False, field=None, is_table=False)
            problem = {**problem, "type": "extra_forbidden"}
            kind = "extra_forbidden"
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            path = (*path, "type")
        message = _problem_text(problem, located, path)
        return f"{self.display}{_where_in_toml(path, located)}: {message}"


# --- paths -------------------------------------------------------------------------------------


def _resolve_paths(table: dict[str, Any], base: Path) -> None:
    """Relative paths in the file mean "beside the config file", not "where the job started"."""
    for key in PATH_KEYS & table.keys():
        value = table[key]
        if isinstance(value, str) and value:
            candidate = Path(value).expanduser()
            table[key] = candidate if candidate.is_absolute() else base / candidate


def _resolve_sqlite_url(value: str, base: Path) -> str:
    match = _SQLITE_URL.match(value)
    if match is None:
        return value
    scheme, file, query = match.groups()
    return f"{scheme}:///{(base / Path(file).expanduser()).as_posix()}{query}"


def _merge_under(explicit: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` fills what ``explicit`` leaves out; nested tables are merged key by key."""
    merged = dict(explicit)
    for key, value in extra.items():
        if key not in merged:
            merged[key] = value
        elif isinstance(merged[key], dict) and isinstance(value, Mapping):
            merged[key] = _merge_under(merged[key], value)
    return merged


# --- finding lines in the raw TOML -------------------------------------------------------------

_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED_KEY = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER = re.compile(rf"^\s*\[\[?\s*({_DOTTED_KEY})\s*\]\]?")
_ASSIGNMENT = re.compile(rf"^\s*({_DOTTED_KEY})\s*=")


def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(_KEY_PART, text)
    return tuple(part[1:-1] if part[:1] in "\"'" else part for part in parts)


class _TomlLines:
    """Which table and key each line of a TOML file belongs to (tomllib keeps no positions)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.places: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        section: tuple[str, ...] = ()
        for line in self.lines:
            header = _HEADER.match(line)
            if header:
                section = _split_key(header.group(1))
                self.places.append((section, ()))
                continue
            assignment = _ASSIGNMENT.match(line)
            key = _split_key(assignment.group(1)) if assignment else ()
            self.places.append((section, key))

    def key_line(self, path: tuple[str, ...]) -> int | None:
        """The 1-based line that sets the key at ``path`` (``[a.b] c = 1`` or ``b.c = 1``)."""
        for number, (section, key) in enumerate(self.places):
            if key and section + key == path:
                return number + 1
        return None

    def find(self, path: tuple[str, ...], needle: str) -> int | None:
        """The 1-based line holding ``needle`` for the value at ``path``, best guess first."""
        candidates = [number for number, line in enumerate(self.lines) if needle in line]
        if not candidates:
            return None

        def score(number: int) -> int:
            section, key = self.places[number]
            full = section + key
            if key and path[: len(full)] == full:
                return 2
            return 1 if path[: len(section)] == section else 0

        return max(candidates, key=lambda number: (score(number), -number)) + 1


def _toml_position(message: str) -> str:
    """tomllib: "Invalid value (at line 3, column 7)"; we: "line 3, column 7: invalid value"."""
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    if match:
        text = message[: match.start()]
        return f", line {match.group(1)}, column {match.group(2)}: {_lower_first(text)}"
    match = re.search(r"\s*\(at end of document\)\s*$", message)
    if match:
        return f", at the end of the file: {_lower_first(message[: match.start()])}"
    return f": {_lower_first(message)}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# --- validation errors as admin-readable lines -------------------------------------------------


class _Located(typing.NamedTuple):
    path: tuple[str | int, ...]  # as written in the file: union tags removed
    field: FieldInfo | None  # the field at the end of the path, if it is one
    container: type[BaseModel] | None  # the model that holds the last key
    is_table: bool  # the value at the path is a table (a model or a dict)
    named_table: bool = False  # path[1] is a table named by the admin ([inbound.sales])


def _unwrap(annotation: Any) -> Any:
    """Strips Annotated[...] and Optional[...] to the type that matters."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field_named(model: type[BaseModel], key: str) -> tuple[str, FieldInfo] | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return name, info
    return None


def _locate(model: type[BaseModel], loc: tuple[str | int, ...]) -> _Located:
    current: Any = model
    path: list[str | int] = []
    field: FieldInfo | None = None
    container: type[BaseModel] | None = None
    named_table = False
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if origin in (typing.Union, types.UnionType):
            tagged = [
                member
                for member in typing.get_args(current)
                if _is_model(member)
                and "type" in member.model_fields
                and member.model_fields["type"].default == part
            ]
            if tagged:  # pydantic puts a discriminated union's tag into the location
                current = tagged[0]
                continue
        if _is_model(current):
            container = current
            found = _field_named(current, str(part))
            field = found[1] if found else None
            current = field.annotation if field else _extra_type(current)
            named_table = named_table or (found is None and current is not None and len(path) == 1)
        else:
            if origin in (dict, Mapping):
                current = typing.get_args(current)[1]
            elif origin in (list, tuple):
                current = typing.get_args(current)[0]
            else:
                current = None
            field = None
            container = None
        path.append(part)
    current = _unwrap(current)
    is_table = _is_model(current) or typing.get_origin(current) in (dict, Mapping)
    return _Located(tuple(path), field, container, is_table, named_table)


def _extra_type(model: type[BaseModel]) -> Any:
    """The type of a model's extra keys when it declares one (tables named by the admin,
    as ``[inbound.NAME]``), else None."""
    if model.model_config.get("extra") != "allow":
        return None
    try:
        hints = typing.get_type_hints(model)
    except NameError:
        return None
    extra = hints.get("__pydantic_extra__")
    return typing.get_args(extra)[1] if typing.get_origin(extra) is dict else None


def _bare_or_quoted(key: str | int) -> str:
    text = str(key)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else json.dumps(text)


def _table_name(path: tuple[str | int, ...]) -> str:
    return ".".join(_bare_or_quoted(part) for part in path)


def _key_name(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + _bare_or_quoted(part)
    return text


def _where_in_toml(path: tuple[str | int, ...], located: _Located) -> str:
    """``, [servers.smtp-main] port`` — the table as the admin wrote its header, then the key."""
    if not path:
        return ""
    depth = 2 if (path[0] == "servers" or located.named_table) and len(path) >= 2 else 1
    if len(path) == 1 and not located.is_table and located.container is not None:
        return f", {_key_name(path)}"  # a top-level key, not a table
    table, rest = path[:depth], path[depth:]
    return f", [{_table_name(table)}]" + (f" {_key_name(rest)}" if rest else "")


def _is_secret(field: FieldInfo | None, path: tuple[str | int, ...]) -> bool:
    if field is not None:
        annotation = _unwrap(field.annotation)
        if annotation is SecretStr or SecretStr in typing.get_args(annotation):
            return True
    last = str(path[-1]).lower() if path else ""
    return any(word in last for word in ("secret", "password", "api_key", "token"))


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _expected_number(field: FieldInfo | None, kind: str) -> str:
    annotation = _unwrap(field.annotation) if field else None
    noun = "an integer" if annotation is int or kind.startswith("int") else "a number"
    bounds: dict[str, Any] = {}
    for constraint in field.metadata if field else ():
        for name in ("ge", "le", "gt", "lt"):
            if isinstance(constraint, getattr(annotated_types, name.capitalize())):
                bounds[name] = getattr(constraint, name)
    if "ge" in bounds and "le" in bounds:
        return f"{noun} from {bounds['ge']} to {bounds['le']}"
    parts = []
    if "ge" in bounds:
        parts.append(f"of at least {bounds['ge']}")
    if "gt" in bounds:
        parts.append(f"greater than {bounds['gt']}")
    if "le" in bounds:
        parts.append(f"of at most {bounds['le']}")
    if "lt" in bounds:
        parts.append(f"less than {bounds['lt']}")
    return " ".join([noun, " and ".join(parts)]) if parts else noun


def _environment_name(path: tuple[str | int, ...]) -> str:
    parts = [str(part) for part in path if isinstance(part, str)]
    if parts[:1] == ["servers"]:
        parts = parts[1:]
    return re.sub(r"[^A-Za-z0-9]+", "_", "_".join(parts)).upper()


_NUMBER_PROBLEMS = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "int_parsing",
        "int_type",
        "int_from_float",
        "float_parsing",
        "float_type",
        "finite_number",
    }
)


def _problem_text(problem: ErrorDetails, located: _Located, path: tuple[str | int, ...]) -> str:
    kind = problem["type"]
    context = problem.get("ctx") or {}
    secret = _is_secret(located.field, path)
    given = "(hidden)" if secret else _show(problem.get("input"))
    if kind == "missing":
        if located.is_table:
            return "required table is missing; add it"
        if located.field is not None and located.field.examples:
            example = located.field.examples[0]
            return f"required; set it, e.g. {_key_name(path[-1:])} = {_show(example)}"
        if secret:
            return (
                f'required; set it, e.g. {_key_name(path[-1:])} = "$<<{_environment_name(path)}>>"'
            )
        return "required"
    if kind == "extra_forbidden":
        known = []
        if located.container is not None:
            known = [
                info.alias or name
                for name, info in located.container.model_fields.items()
                if not info.exclude
            ]
        close = difflib.get_close_matches(str(path[-1]), known, n=1)
        return "unknown key" + (f" (did you mean {close[0]}?)" if close else "")
    if kind in _NUMBER_PROBLEMS:
        return f"expected {_expected_number(located.field, kind)}, got {given}"
    if kind == "literal_error":
        return f"expected one of {context.get('expected', '?')}, got {given}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = context.get("expected_tags", "?")
        if kind == "union_tag_not_found":
            return f"required; one of {tags}"
        return f"expected one of {tags}, got {_show(context.get('tag'))}"
    if kind in ("bool_parsing", "bool_type"):
        return f"expected true or false, got {given}"
    if kind == "string_type":
        return f"expected text in quotes, got {given}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a table, got {given}"
    if kind in ("list_type", "tuple_type"):
        return f'expected a list like ["a", "b"], got {given}'
    message = problem["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return _lower_first(message) if message[:2] != message[:2].upper() else message


# --- describing a loaded configuration ---------------------------------------------------------


def describe_config(settings: BaseModel) -> str:
    """The resolved settings as TOML-like text, for ``check-config``.

    Every secret reads ``********``; so does the password part of a URL.
    """
    data = settings.model_dump(mode="python", by_alias=True, exclude_none=True)
    lines: list[str] = []
    _describe_table(data, (), lines)
    return "\n".join(lines).strip() + "\n"


def _describe_table(table: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    scalars = {key: value for key, value in table.items() if not isinstance(value, Mapping)}
    tables = {key: value for key, value in table.items() if isinstance(value, Mapping)}
    if path and (scalars or not tables):
        lines.extend(["", f"[{_table_name(path)}]"])
    for key, value in scalars.items():
        lines.append(f"{_bare_or_quoted(key)} = {_describe_value(value)}")
    for key, value in tables.items():
        _describe_table(value, (*path, key), lines)


def _describe_value(value: Any) -> str:
    if isinstance(value, SecretStr):
        return json.dumps(MASK)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ", ".join(_describe_value(item) for item in value) + "]"
    if isinstance(value, Path):
        value = str(value)
    return json.dumps(mask_url_password(str(value)), ensure_ascii=False)


def mask_url_password(text: str) -> str:
    """``postgresql://app:pw@db/x`` -> ``postgresql://app:********@db/x``."""
    return _URL_PASSWORD.sub(lambda match: f"{match.group(1)}{MASK}{match.group(3)}", text)
