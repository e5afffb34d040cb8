"""The engine's settings: what ``config/approvals.toml`` may say.

Loading (TOML, ``$<<VAR>>`` templating, properties files, error messages
that name file and key) is :func:`mailio.loading.load_config`; this module
declares the shape and the cross-field rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from approvals.disposition import KEEP, Disposition, move_to
from approvals.workflow.stages import parse_approvers
from mailio.config import READER_TYPES, SENDER_TYPES, ServerSettings
from mailio.errors import ConfigError
from mailio.loading import load_config, mask_url_password

WEB_SECRET_KEY_MIN = 32  # [web] secret_key signs session cookies


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StoreSettings(_Settings):
    url: str = "sqlite:///approvals.db"  # relative SQLite paths are relative to the config file
    keep_raw_days: float = Field(default=365, gt=0)  # decided replies' raw bytes, for evidence

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A PostgreSQL URL may carry a password; reprs end up in logs.
        yield "url", mask_url_password(self.url)

    @field_validator("url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        scheme = value.partition(":")[0].partition("+")[0].lower()
        if "://" not in value or scheme not in ("sqlite", "postgresql"):
            raise ValueError(
                'expected "sqlite:///path/approvals.db" or "postgresql://user@host/database"'
            )
        return value


class TokenSettings(_Settings):
    secret: SecretStr = Field(examples=["$<<APPROVALS_SECRET>>"])
    ttl_days: float = Field(default=14, gt=0)

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (use a long random string)")
        return value


class OutboundSettings(_Settings):
    server: str
    fallback: list[str] = []
    from_address: str = Field(alias="from")
    reply_to: str | None = None  # approvals+TOKEN@domain is derived from it
    theme: str = "default"
    # Default: templates/ beside the config file. Where it has no default/ theme (or does
    # not exist), approvals.mails uses the packaged one.
    templates_dir: Path | None = None
    charset: str = "utf-8"
    plain_text_only: bool = False
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=0)
    subaddress_reply_to: bool = True  # put the token in Reply-To as approvals+TOKEN@

    @property
    def server_names(self) -> list[str]:
        """The servers to try, in order: the main one, then the fallbacks."""
        return [self.server, *self.fallback]


DEFAULT_MAILBOX = "default"  # the mailbox of the [inbound] table itself
INBOUND_MODES = ("poll", "idle")


class MailboxSettings(_Settings):
    """One reply folder: the ``[inbound]`` table, or an ``[inbound.NAME]`` table."""

    server: str
    folder: str = "INBOX"
    # poll: read every interval_minutes (FlexDeploy's way); idle: the server announces
    # new mail (IMAP IDLE) and it is read at once; interval_minutes is then the safety net.
    mode: Literal["poll", "idle"] = "poll"
    interval_minutes: float = Field(default=5, gt=0)
    max_messages: int = Field(default=30, ge=1, le=10000)
    after_processing: str = "delete"
    failure_folder: str = "Failed"
    # Larger replies are kept unread in the failure folder, their bodies never downloaded.
    max_message_bytes: int = Field(default=25 * 1024 * 1024, gt=0)

    @field_validator("after_processing")
    @classmethod
    def _delete_or_move(cls, value: str) -> str:
        if Disposition.parse(value) == KEEP:  # raises on anything but delete / move:<Folder>
            raise ValueError('expected "delete" or "move:<Folder>"')
        return value

    @property
    def processed(self) -> Disposition:
        """What happens to a decided or ignored reply's mail."""
        return Disposition.parse(self.after_processing)

    @property
    def refused(self) -> Disposition:
        """What happens to a refused reply's mail: kept in the failure folder."""
        return move_to(self.failure_folder)

    @field_validator("failure_folder", "folder")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a folder name cannot be blank")
        return value

    @model_validator(mode="after")
    def _folders_differ(self) -> MailboxSettings:
        # Mail moved back into the folder it came from would be read again every cycle.
        if self.failure_folder == self.folder:
            raise ValueError(f'failure_folder must differ from folder ("{self.folder}")')
        if self.after_processing == f"move:{self.folder}":
            raise ValueError(f'after_processing cannot move mail back into "{self.folder}"')
        return self


class InboundSettings(MailboxSettings):
    """``[inbound]``: the reply folder, and one more per ``[inbound.NAME]`` table (a
    department's or a tenant's reply address). A named table takes the keys it does not
    set from ``[inbound]``."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)
    __pydantic_extra__: dict[str, MailboxSettings] = Field(init=False)

    @model_validator(mode="before")
    @classmethod
    def _named_tables_inherit(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        # A key that is not a field nor a table fails as a mailbox: the loader calls it
        # an unknown key and suggests the field meant.
        fields = MailboxSettings.model_fields
        own = {key: value for key, value in data.items() if key in fields}
        named = {key: value for key, value in data.items() if isinstance(value, Mapping)}
        if DEFAULT_MAILBOX in named:
            raise ValueError(
                f'[inbound.{DEFAULT_MAILBOX}]: "{DEFAULT_MAILBOX}" names the [inbound] table '
                "itself; give this mailbox another name"
            )
        for name, table in named.items():
            nested = [key for key, value in table.items() if isinstance(value, Mapping)]
            if nested:
                raise ValueError(f"[inbound.{name}.{nested[0]}]: mailboxes do not nest")
        inherited = {name: {**own, **table} for name, table in named.items()}
        return {**data, **inherited}

    @property
    def mailboxes(self) -> dict[str, MailboxSettings]:
        """Every reply folder by name: ``"default"`` (this table) first, then the named."""
        fields = {name: getattr(self, name) for name in MailboxSettings.model_fields}
        return {
            DEFAULT_MAILBOX: MailboxSettings.model_construct(**fields),
            **(self.model_extra or {}),
        }


class ReplySettings(_Settings):
    """How replies are trusted and answered (see approvals/replies/)."""

    require_dmarc_pass: bool = False
    trusted_authserv_ids: list[str] = []
    # A Sender: header naming someone other than the From: approver ("on behalf of", a
    # delegate or an assistant) is refused unless this is on.
    allow_on_behalf: bool = False
    answer_unactionable: bool = True
    answer_interval_minutes: float = Field(default=60, ge=0)
    send_receipts: bool = False

    @model_validator(mode="after")
    def _ids_when_required(self) -> ReplySettings:
        if self.require_dmarc_pass and not self.trusted_authserv_ids:
            raise ValueError(
                "require_dmarc_pass needs trusted_authserv_ids (your own mail servers)"
            )
        return self


class PolicySettings(_Settings):
    """When a request with several approvers is final.

    ``all``: approved when every approver approved; rejected at the first reject.
    ``any``: the first decision, approve or reject, is final.
    """

    mode: Literal["all", "any"] = "all"


class CallbackSettings(_Settings):
    """Optional webhook: the final status is POSTed as JSON (besides on_decision callbacks)."""

    url: SecretStr | None = None  # often carries a token: masked like a password
    timeout_seconds: float = Field(default=10, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            parsed = httpx.URL(value.get_secret_value())
        except httpx.InvalidURL:
            parsed = None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("expected an http:// or https:// URL")  # never echo it: a secret
        return value


class ReminderSettings(_Settings):
    """Reminders to the current stage's seats that have not answered."""

    after_hours: float = Field(default=24, gt=0)
    every_hours: float = Field(default=24, gt=0)
    max: int = Field(default=2, ge=0)


class WorkflowSettings(_Settings):
    """Defaults for requests that do not say otherwise (see README, "The workflow")."""

    due_hours: float = Field(default=7 * 24, gt=0)  # pending after it: expired
    reminders: ReminderSettings | None = ReminderSettings()
    escalate_to: list[str] = []
    escalate_after_hours: float | None = Field(default=None, gt=0)
    delegation: bool = False  # may an approver delegate by replying "Delegate to …"?
    delegate_domains: list[str] = []  # the domains a delegate by reply may be in
    notify_on_close: bool = True  # "closed, no action needed" to seats that had not answered

    @field_validator("escalate_to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        if value:
            parse_approvers(value, where="escalate_to")
        return value

    @model_validator(mode="after")
    def _escalation_complete(self) -> WorkflowSettings:
        if bool(self.escalate_to) != (self.escalate_after_hours is not None):
            raise ValueError("escalate_to and escalate_after_hours go together: set both or none")
        if self.delegation and not self.delegate_domains:
            raise ValueError(
                "delegation = true needs delegate_domains (the domains delegates may be in)"
            )
        return self


class HealthSettings(_Settings):
    """``canary_minutes``: ``serve`` sends a signed probe to the reply address this often
    and reads it back (``approvals status`` shows the last one); None: no canary."""

    canary_minutes: float | None = Field(default=None, gt=0)


class WebSettings(_Settings):
    """The admin console (``approvals web``, or inside ``approvals serve`` when ``enabled``).

    ``secret_key`` and ``admins`` may be left out while the console does not run; the
    command that starts it calls :meth:`require_runnable` (``enabled`` does here).
    """

    bind: str = "127.0.0.1"
    port: int = Field(default=8421, ge=1, le=65535)
    enabled: bool = False  # also run the console inside `approvals serve`
    root_path: str = ""  # the path prefix behind a reverse proxy, e.g. "/approvals"
    secret_key: SecretStr | None = None  # signs the session cookies
    # name -> password hash (`approvals web hash-password`); secret: a hash can be attacked
    # offline, so check-config and the console mask it like a password.
    admins: dict[str, SecretStr] = {}
    session_minutes: float = Field(default=480, gt=0)
    lockout_attempts: int = Field(default=5, ge=1)
    lockout_minutes: float = Field(default=15, gt=0)
    secure_cookies: bool | None = None  # None: Secure when the request came over https

    @field_validator("root_path")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value and (not value.startswith("/") or value.endswith("/")):
            raise ValueError(f'expected "" or a path like "/approvals", got "{value}"')
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < WEB_SECRET_KEY_MIN:
            raise ValueError(
                f"must be at least {WEB_SECRET_KEY_MIN} characters "
                '(for example the output of python -c "import secrets; '
                'print(secrets.token_urlsafe(32))")'
            )
        return value

    @field_validator("admins")
    @classmethod
    def _hashes(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, hashed in value.items():
            if not name.strip():
                raise ValueError("an admin name cannot be blank")
            if not hashed.get_secret_value().startswith("scrypt$"):
                # Never echo it: a password pasted here by mistake would reach the logs.
                raise ValueError(
                    f'admin "{name}": expected a password hash starting with "scrypt$" '
                    "(make one with `approvals web hash-password`)"
                )
        return value

    def require_runnable(self) -> None:
        """ValueError naming ``[web] secret_key`` or ``[web] admins`` when the console
        cannot run with these settings."""
        if self.secret_key is None:
            raise ValueError(
                "[web] secret_key is required to run the console: it signs the session "
                f"cookies (at least {WEB_SECRET_KEY_MIN} random characters)"
            )
        if not self.admins:
            raise ValueError(
                "[web] admins is required to run the console: at least one "
                'name = "scrypt$…" (make a hash with `approvals web hash-password`)'
            )


class MetricsSettings(_Settings):
    """``listen = "127.0.0.1:9464"``: ``serve`` answers /metrics, /healthz and /readyz there
    when the console does not run (the console serves them itself)."""

    listen: str | None = None

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, colon, port = value.rpartition(":")
        if not (colon and host and port.isdigit() and 1 <= int(port) <= 65535):
            raise ValueError(f'expected "host:port", e.g. "127.0.0.1:9464", got {value!r}')
        return value


class EngineSettings(_Settings):
    store: StoreSettings = StoreSettings()
    tokens: TokenSettings
    outbound: OutboundSettings
    inbound: InboundSettings
    replies: ReplySettings = ReplySettings()
    policy: PolicySettings = PolicySettings()
    workflow: WorkflowSettings = WorkflowSettings()
    health: HealthSettings = HealthSettings()
    metrics: MetricsSettings = MetricsSettings()
    callback: CallbackSettings = CallbackSettings()
    web: WebSettings = WebSettings()
    servers: dict[str, ServerSettings]
    config_path: Path | None = Field(default=None, exclude=True)
    # What check-config shows the admin: unused properties, certificate checks switched off.
    notices: tuple[str, ...] = Field(default=(), exclude=True)

    @classmethod
    def load(cls, path: str | Path, environ: Mapping[str, str] | None = None) -> EngineSettings:
        """Reads ``path`` (TOML); cheap and side-effect free, so the scheduler calls it each cycle.

        Raises :class:`mailio.errors.ConfigError` naming file, table and key of every problem.
        """
        return load_config(Path(path), cls, environ=environ)

    @model_validator(mode="after")
    def _console_runnable(self) -> EngineSettings:
        if self.web.enabled:
            self.web.require_runnable()
        return self

    @model_validator(mode="after")
    def _servers_exist(self) -> EngineSettings:
        for key, name, allowed in (
            ("outbound.server", self.outbound.server, SENDER_TYPES),
            *(
                (_mailbox_key(name, "server"), mailbox.server, READER_TYPES)
                for name, mailbox in self.mailboxes.items()
            ),
            *(("outbound.fallback", name, SENDER_TYPES) for name in self.outbound.fallback),
        ):
            server = self.servers.get(name)
            if server is None:
                known = ", ".join(sorted(self.servers)) or "none"
                raise ValueError(
                    f'{key} names server "{name}", but no [servers.{name}] exists '
                    f"(defined: {known})"
                )
            if server.type not in allowed:
                raise ValueError(
                    f'{key}: server "{name}" is of type "{server.type}", '
                    f"expected one of {', '.join(sorted(allowed))}"
                )
        return self

    @property
    def mailboxes(self) -> dict[str, MailboxSettings]:
        """The reply folders by name (``"default"``: the [inbound] table's)."""
        return self.inbound.mailboxes

    def for_mailbox(self, name: str) -> EngineSettings:
        """These settings as one mailbox's work sees them: ``inbound`` is that mailbox."""
        mailbox = self.mailboxes.get(name)
        if mailbox is None:
            raise ConfigError(
                f"no mailbox {name!r}: [inbound] is {DEFAULT_MAILBOX!r}, "
                f"the others are its [inbound.NAME] tables ({', '.join(self.mailboxes)})"
            )
        if name == DEFAULT_MAILBOX:
            return self
        alone = InboundSettings.model_construct(**mailbox.model_dump())  # validated already
        return self.model_copy(update={"inbound": alone})

    @property
    def base_dir(self) -> Path:
        return self.config_path.parent if self.config_path else Path.cwd()

    @property
    def templates_dir(self) -> Path:
        return self.outbound.templates_dir or self.base_dir / "templates"


def mailbox_table(name: str) -> str:
    """How the config names a mailbox's table: ``[inbound]`` or ``[inbound.sales]``."""
    return "[inbound]" if name == DEFAULT_MAILBOX else f"[inbound.{name}]"


def _mailbox_key(name: str, key: str) -> str:
    return f"{mailbox_table(name)[1:-1]}.{key}"
