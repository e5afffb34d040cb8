"""Loading config/approvals.toml: templating, properties files, paths, error messages, secrets.

Pure: every test writes its files under tmp_path and passes its own environment.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from approvals.settings import EngineSettings
from mailio.config import GraphServer, ImapServer, SmtpServer
from mailio.errors import ConfigError, TemplateVariableError
from mailio.loading import describe_config, load_config

REPO = Path(__file__).resolve().parent.parent
SECRET = "s3cret-token-key-0123456789"
SMTP_PASSWORD = "smtp-pa55word-xyz"
IMAP_PASSWORD = "imap-pa55word-xyz"
ENV = {"APPROVALS_SECRET": SECRET, "SMTP_PASSWORD": SMTP_PASSWORD, "IMAP_PASSWORD": IMAP_PASSWORD}

HEAD = """\
[tokens]
secret = "$<<APPROVALS_SECRET>>"
[outbound]
server = "smtp-main"
from = "Approvals <approvals@example.com>"
[inbound]
server = "imap-main"
[servers.imap-main]
type = "imap"
host = "imap.example.com"
port = 993
security = "tls"
"""
SMTP = """\
[servers.smtp-main]
type = "smtp"
host = "smtp.example.com"
port = 587
username = "approvals@example.com"
password = "$<<SMTP_PASSWORD>>"
"""


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work from tmp_path so messages read "config/approvals.toml", as an admin would see them."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    return tmp_path / "config"


def write(config_dir: Path, text: str, name: str = "approvals.toml") -> Path:
    (config_dir / name).write_text(text, encoding="utf-8")
    return Path("config") / name


def load(config_dir: Path, text: str, environ: dict[str, str] | None = None) -> EngineSettings:
    return EngineSettings.load(write(config_dir, text), environ=ENV if environ is None else environ)


def error_of(config_dir: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load(config_dir, text, environ)
    return str(caught.value)


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def smtp(settings: EngineSettings) -> SmtpServer:
    server = settings.servers["smtp-main"]
    assert isinstance(server, SmtpServer)
    return server


# --- the shipped default ------------------------------------------------------------------


def test_shipped_default_loads_with_the_three_variables_set() -> None:
    settings = EngineSettings.load(REPO / "config" / "approvals.toml", environ=ENV)
    server = smtp(settings)
    assert (server.name, server.host, server.port) == ("smtp-main", "smtp.example.com", 587)
    assert server.security == "starttls-required"
    assert server.password is not None and server.password.get_secret_value() == SMTP_PASSWORD
    imap = settings.servers["imap-main"]
    assert isinstance(imap, ImapServer) and imap.security == "tls" and imap.port == 993
    assert settings.tokens.secret.get_secret_value() == SECRET
    assert settings.outbound.from_address == "Approvals <approvals@example.com>"
    assert settings.inbound.after_processing == "delete"
    assert settings.config_path == REPO / "config" / "approvals.toml"
    assert settings.store.url == f"sqlite:///{(REPO / 'config' / 'approvals.db').as_posix()}"
    assert settings.notices == ()


def test_shipped_default_names_the_missing_variable_and_its_line() -> None:
    path = REPO / "config" / "approvals.toml"
    line = line_of(path.read_text(), 'password = "$<<IMAP_PASSWORD>>"')
    environ = {key: value for key, value in ENV.items() if key != "IMAP_PASSWORD"}
    with pytest.raises(TemplateVariableError) as caught:
        EngineSettings.load(path, environ=environ)
    assert str(caught.value) == (
        f"{path}, line {line}: $<<IMAP_PASSWORD>> is not defined; "
        f"set IMAP_PASSWORD in the environment"
    )


@pytest.mark.parametrize("name", ["gmail.properties", "office365.properties"])
def test_shipped_examples_have_no_unknown_keys(config_dir: Path, name: str) -> None:
    shutil.copy(REPO / "config" / "examples" / name, config_dir / name)
    text = HEAD + f'[servers.smtp-main]\ntype = "smtp"\nproperties_file = "{name}"\n'
    settings = load(
        config_dir, text + 'password = "$<<SMTP_PASSWORD>>"\n', {**ENV, "SMTP_USER": "u"}
    )
    assert settings.notices == ()


# --- properties files through a server table ------------------------------------------------


def test_gmail_properties_give_implicit_tls_on_465(config_dir: Path) -> None:
    (config_dir / "examples").mkdir()
    shutil.copy(REPO / "config/examples/gmail.properties", config_dir / "examples")
    text = HEAD + (
        '[servers.smtp-main]\ntype = "smtp"\nproperties_file = "examples/gmail.properties"\n'
        'password = "$<<SMTP_PASSWORD>>"\n'
    )
    settings = load(config_dir, text, {**ENV, "SMTP_USER": "me@gmail.com"})
    server = smtp(settings)
    assert (server.host, server.port, server.security) == ("smtp.gmail.com", 465, "tls")
    assert server.username == "me@gmail.com"
    assert server.auth_method == "password"
    assert (server.timeouts.connect, server.timeouts.socket) == (10.0, 30.0)
    assert server.properties_file == config_dir.absolute() / "examples" / "gmail.properties"


def test_office365_properties_give_starttls_required_on_587(config_dir: Path) -> None:
    shutil.copy(REPO / "config/examples/office365.properties", config_dir)
    text = HEAD + (
        '[servers.smtp-main]\ntype = "smtp"\nproperties_file = "office365.properties"\n'
        'password = "$<<SMTP_PASSWORD>>"\n'
    )
    server = smtp(load(config_dir, text, {**ENV, "SMTP_USER": "me@contoso.com"}))
    assert (server.host, server.port) == ("smtp.office365.com", 587)
    assert server.security == "starttls-required"
    assert server.tls_min_version == "TLSv1.2"
    assert (server.timeouts.connect, server.timeouts.socket) == (15.0, 60.0)
    assert server.timeouts.greeting == 30.0  # not in the file: the model's default


def test_toml_and_properties_file_agreeing_is_fine(config_dir: Path) -> None:
    (config_dir / "mail.properties").write_text(
        "mail.smtp.host=smtp.example.com\nmail.smtp.port=587\nmail.smtp.starttls.enable=true\n"
        "mail.smtp.connectiontimeout=2000\nmail.smtp.timeout=9000\n"
    )
    text = HEAD + SMTP + 'properties_file = "mail.properties"\nsecurity = "starttls-required"\n'
    text += "[servers.smtp-main.timeouts]\nconnect = 2\n"
    server = smtp(load(config_dir, text))
    assert (server.host, server.port) == ("smtp.example.com", 587)
    assert server.security == "starttls-required"
    assert (server.timeouts.connect, server.timeouts.socket) == (2.0, 9.0)  # merged key by key


def test_properties_file_contradicting_the_toml_table_is_an_error(config_dir: Path) -> None:
    (config_dir / "mail.properties").write_text(
        "mail.smtp.host=from-file.example.com\nmail.smtp.port=465\nmail.smtp.ssl.enable=true\n"
        "mail.smtp.user=approvals@example.com\nmail.smtp.connectiontimeout=5000\n"
    )
    text = HEAD + SMTP + 'properties_file = "mail.properties"\nsecurity = "starttls-required"\n'
    text += "[servers.smtp-main.timeouts]\nconnect = 2\n"
    toml_line = {
        key: line_of(text, needle)
        for key, needle in [
            ("host =", 'host = "smtp.example.com"'),
            ("port = 587", "port = 587"),
            ("security =", 'security = "starttls-required"'),
            ("connect", "connect = 2"),
        ]
    }
    assert error_of(config_dir, text).splitlines() == [
        "config/mail.properties, line 1: mail.smtp.host=from-file.example.com contradicts "
        f"config/approvals.toml, line {toml_line['host =']}: [servers.smtp-main] host = "
        '"smtp.example.com"; remove one of the two, or make them agree',
        "config/mail.properties, line 2: mail.smtp.port=465 contradicts config/approvals.toml, "
        f"line {toml_line['port = 587']}: [servers.smtp-main] port = 587; remove one of the "
        "two, or make them agree",
        "config/mail.properties, line 3: mail.smtp.ssl.enable=true contradicts "
        f"config/approvals.toml, line {toml_line['security =']}: [servers.smtp-main] security "
        '= "starttls-required"; remove one of the two, or make them agree',
        "config/mail.properties, line 5: mail.smtp.connectiontimeout=5000 contradicts "
        f"config/approvals.toml, line {toml_line['connect']}: [servers.smtp-main] "
        "timeouts.connect = 2; remove one of the two, or make them agree",
    ]


def test_starttls_enable_does_not_lower_the_default_but_the_table_may(config_dir: Path) -> None:
    (config_dir / "mail.properties").write_text("mail.smtp.starttls.enable=true\n")
    text = HEAD + SMTP + 'properties_file = "mail.properties"\n'
    assert smtp(load(config_dir, text)).security == "starttls-required"
    text += 'security = "starttls-if-available"\n'
    assert smtp(load(config_dir, text)).security == "starttls-if-available"


def test_properties_file_that_sets_nothing_is_an_error(config_dir: Path) -> None:
    (config_dir / "mail.properties").write_text(
        "PROTOCOL=smtp\nmail.debug=true\nmail.imap.host=i\nmail.smtp.socketFactory.fallback=false\n"
    )
    text = HEAD + SMTP + 'properties_file = "mail.properties"\n'
    assert error_of(config_dir, text).splitlines() == [
        "config/mail.properties: no line in it sets anything for smtp server [servers.smtp-main] "
        "(config/approvals.toml, [servers.smtp-main] properties_file); fix the lines below, or "
        "remove properties_file",
        "config/mail.properties, line 4: mail.smtp.socketFactory.fallback is ignored: this engine "
        "never falls back to an unencrypted connection when TLS fails",
        "config/mail.properties, line 2: mail.debug is not used for smtp server "
        "[servers.smtp-main]; the line is ignored",
        "config/mail.properties, line 3: mail.imap.host is not used for smtp server "
        "[servers.smtp-main]; the line is ignored",
    ]


# FlexDeploy's documented defaults (Email Settings), as shipped in config/examples.
FLEXDEPLOY_SMTP = (REPO / "config/examples/flexdeploy-smtp.properties").read_text()
FLEXDEPLOY_IMAP = (REPO / "config/examples/flexdeploy-imap.properties").read_text()


def test_flexdeploy_default_blocks_paste_unchanged(config_dir: Path) -> None:
    (config_dir / "smtp.properties").write_text(FLEXDEPLOY_SMTP)
    (config_dir / "imap.properties").write_text(FLEXDEPLOY_IMAP)
    text = HEAD + 'properties_file = "imap.properties"\n' + SMTP
    settings = load(config_dir, text + 'properties_file = "smtp.properties"\n')
    server = smtp(settings)
    assert (server.host, server.port, server.security) == (
        "smtp.example.com",
        587,
        "starttls-required",
    )
    assert (server.timeouts.connect, server.timeouts.socket) == (30.0, 30.0)
    assert server.tls_min_version == "TLSv1.2"
    imap = settings.servers["imap-main"]
    assert isinstance(imap, ImapServer)
    assert (imap.host, imap.port, imap.security) == ("imap.example.com", 993, "tls")
    assert settings.notices == ()


def test_flexdeploy_protocol_comes_from_the_table_when_the_file_has_no_line(
    config_dir: Path,
) -> None:
    (config_dir / "smtp.properties").write_text("mail.${{PROTOCOL}}.from=bounces@example.com\n")
    text = HEAD + SMTP.replace("port = 587", 'port = 465\nsecurity = "tls"')
    server = smtp(load(config_dir, text + 'properties_file = "smtp.properties"\n'))
    assert (server.from_address, server.security) == ("bounces@example.com", "tls")
    assert server.properties_file is not None


def test_flexdeploy_imaps_protocol_means_implicit_tls(config_dir: Path) -> None:
    (config_dir / "imap.properties").write_text(
        FLEXDEPLOY_IMAP.replace("PROTOCOL=imap", "PROTOCOL=imaps").replace(
            "mail.${{PROTOCOL}}.socketFactory.class=javax.net.ssl.SSLSocketFactory\n", ""
        )
    )
    text = HEAD.replace('security = "tls"\n', 'properties_file = "imap.properties"\n')
    imap = load(config_dir, text + SMTP).servers["imap-main"]
    assert isinstance(imap, ImapServer) and imap.security == "tls"


def test_flexdeploy_undefined_variable_names_file_line_and_table_key(config_dir: Path) -> None:
    (config_dir / "smtp.properties").write_text(FLEXDEPLOY_SMTP)
    text = HEAD + '[servers.smtp-main]\ntype = "smtp"\nproperties_file = "smtp.properties"\n'
    line = line_of(FLEXDEPLOY_SMTP, "=${{SMTP_HOST_NAME}}")
    assert error_of(config_dir, text) == (
        f"config/smtp.properties, line {line}: ${{{{SMTP_HOST_NAME}}}} is not defined; "
        "SMTP_HOST_NAME is "
        "the server table's host: set host in the server's TOML table, or define SMTP_HOST_NAME "
        "in the file"
    )


def test_flexdeploy_malformed_reference_is_an_error(config_dir: Path) -> None:
    (config_dir / "smtp.properties").write_text("mail.smtp.host=${{ SMTP_HOST_NAME }}\n")
    text = HEAD + SMTP + 'properties_file = "smtp.properties"\n'
    assert error_of(config_dir, text) == (
        "config/smtp.properties, line 1: ${{ must be followed by a variable name and }} "
        "(like ${{SMTP_PASSWORD}}); write $${{ for a literal ${{"
    )


def test_flexdeploy_syntax_is_plain_text_in_toml(config_dir: Path) -> None:
    settings = load(config_dir, HEAD + SMTP + 'local_hostname = "${{SMTP_HOST_NAME}}"\n')
    assert smtp(settings).local_hostname == "${{SMTP_HOST_NAME}}"


def test_properties_file_uses_the_servers_own_fields(config_dir: Path) -> None:
    (config_dir / "mail.properties").write_text(
        "mail.smtp.from=bounces@$<<SMTP_HOST_NAME>>\nmail.smtp.localhost=port-$<<SMTP_HOST_PORT>>"
        "-tls-$<<SMTP_ENABLE_TLS>>\n"
    )
    server = smtp(load(config_dir, HEAD + SMTP + 'properties_file = "mail.properties"\n'))
    assert server.from_address == "bounces@smtp.example.com"
    assert server.local_hostname == "port-587-tls-true"


def test_imap_properties_file(config_dir: Path) -> None:
    (config_dir / "imap.properties").write_text(
        "mail.store.protocol=imaps\nmail.imaps.host=mail.example.org\nmail.imaps.port=993\n"
        "mail.imaps.user=$<<IMAP_HOST_NAME>>\nmail.imaps.auth=false\n"
    )
    text = HEAD.replace(
        'host = "imap.example.com"\nport = 993\nsecurity = "tls"\n',
        'properties_file = "imap.properties"\n',
    )
    # IMAP_HOST_NAME comes from the TOML table, which has no host: the environment is asked.
    settings = load(config_dir, text + SMTP, {**ENV, "IMAP_HOST_NAME": "from-env"})
    imap = settings.servers["imap-main"]
    assert isinstance(imap, ImapServer)
    assert (imap.host, imap.port, imap.security) == ("mail.example.org", 993, "tls")
    assert imap.username == "from-env"
    with pytest.raises(TemplateVariableError, match=r"imap.properties, line 4: \$<<IMAP_HOST_NAME"):
        load(config_dir, text + SMTP)


def test_unknown_properties_are_reported_with_file_and_line(config_dir: Path) -> None:
    (config_dir / "mail.properties").write_text(
        "# copied from the old app\nmail.smtp.from=b@example.com\nmail.debug=true\n"
        "mail.imap.host=i\n"
    )
    settings = load(config_dir, HEAD + SMTP + 'properties_file = "mail.properties"\n')
    assert settings.notices == (
        "config/mail.properties, line 3: mail.debug is not used for smtp server "
        "[servers.smtp-main]; the line is ignored",
        "config/mail.properties, line 4: mail.imap.host is not used for smtp server "
        "[servers.smtp-main]; the line is ignored",
    )


def test_trust_all_in_properties_turns_verify_off_with_a_warning(config_dir: Path) -> None:
    (config_dir / "mail.properties").write_text("mail.smtp.ssl.trust=*\n")
    settings = load(config_dir, HEAD + SMTP + 'properties_file = "mail.properties"\n')
    assert smtp(settings).verify is False
    assert len(settings.notices) == 1
    assert settings.notices[0].startswith("config/mail.properties, line 1: WARNING:")


def test_verify_false_in_toml_gives_a_warning(config_dir: Path) -> None:
    settings = load(config_dir, HEAD + SMTP + "verify = false\n")
    assert settings.notices == (
        "config/approvals.toml, [servers.smtp-main] verify = false: WARNING: certificates are "
        "NOT checked; anyone on the network path can read the password and the mail. For a "
        "private CA, set ca_file instead.",
    )


def test_missing_properties_file_names_the_key(config_dir: Path) -> None:
    message = error_of(config_dir, HEAD + SMTP + 'properties_file = "nope.properties"\n')
    assert message.startswith(
        "config/approvals.toml, [servers.smtp-main] properties_file: cannot read "
        "config/nope.properties"
    )


def test_properties_file_only_for_smtp_and_imap(config_dir: Path) -> None:
    (config_dir / "x.properties").write_text("mail.smtp.host=h\n")
    text = (
        HEAD
        + SMTP
        + ('[servers.graph]\ntype = "graph"\nmailbox = "a@b"\nproperties_file = "x.properties"\n')
    )
    message = error_of(config_dir, text)
    assert message.startswith("config/approvals.toml, [servers.graph] properties_file: only smtp")


def test_bad_value_in_properties_names_its_file_and_line(config_dir: Path) -> None:
    (config_dir / "x.properties").write_text("mail.smtp.host=h\nmail.smtp.ssl.protocols=TLSv1\n")
    message = error_of(config_dir, HEAD + SMTP + 'properties_file = "x.properties"\n')
    assert message.startswith("config/x.properties, line 2: mail.smtp.ssl.protocols: TLSv1 not")


def test_problems_after_merging_name_the_server_table(config_dir: Path) -> None:
    (config_dir / "x.properties").write_text("mail.smtp.connectiontimeout=5000\n")
    text = HEAD + '[servers.smtp-main]\ntype = "smtp"\nproperties_file = "x.properties"\n'
    assert error_of(config_dir, text + "port = 25\n") == (
        "config/approvals.toml, [servers.smtp-main] host: required"
    )
    (config_dir / "x.properties").write_text(
        "mail.smtp.host=h\nmail.smtp.port=25\nmail.smtp.user=u\n"
    )
    assert error_of(config_dir, text) == (
        'config/approvals.toml, [servers.smtp-main]: auth = "password" needs username and password'
    )


# --- templating in TOML -------------------------------------------------------------------


def test_toml_reference_error_names_the_line(config_dir: Path) -> None:
    text = HEAD + SMTP
    message = error_of(config_dir, text, {"APPROVALS_SECRET": SECRET})
    line = line_of(text, "$<<SMTP_PASSWORD>>")
    assert message == (
        f"config/approvals.toml, line {line}: $<<SMTP_PASSWORD>> is not defined; "
        "set SMTP_PASSWORD in the environment"
    )


def test_same_reference_in_two_tables_names_the_right_line(config_dir: Path) -> None:
    # Defined in [servers.smtp-main], undefined in [servers.imap-main]: the second line is wrong.
    text = SMTP + 'local_hostname = "$<<SMTP_HOST_NAME>>"\n' + HEAD
    text += 'username = "$<<SMTP_HOST_NAME>>"\n'
    message = error_of(config_dir, text)
    line = len(text.splitlines())
    assert message.startswith(f"config/approvals.toml, line {line}: $<<SMTP_HOST_NAME>> is not")


def test_double_dollar_is_literal_in_toml(config_dir: Path) -> None:
    settings = load(config_dir, HEAD + SMTP + 'local_hostname = "$$<<not-a-var>>"\n')
    assert smtp(settings).local_hostname == "$<<not-a-var>>"


def test_toml_server_tables_may_use_their_own_fields(config_dir: Path) -> None:
    text = HEAD + SMTP + 'local_hostname = "client-of-$<<SMTP_HOST_NAME>>"\n'
    assert smtp(load(config_dir, text)).local_hostname == "client-of-smtp.example.com"


def test_server_fields_are_not_visible_outside_servers(config_dir: Path) -> None:
    text = HEAD.replace(
        'server = "imap-main"', 'server = "imap-main"\nfolder = "$<<IMAP_HOST_NAME>>"'
    )
    message = error_of(config_dir, text + SMTP)
    assert "$<<IMAP_HOST_NAME>> is not defined" in message


def test_environment_values_are_not_expanded_again(config_dir: Path) -> None:
    settings = load(config_dir, HEAD + SMTP, {**ENV, "SMTP_PASSWORD": "a$<<B>>c"})
    password = smtp(settings).password
    assert password is not None and password.get_secret_value() == "a$<<B>>c"


def test_templated_port_is_validated_as_a_number(config_dir: Path) -> None:
    text = HEAD + SMTP.replace("port = 587", 'port = "$<<SMTP_PORT>>"')
    assert smtp(load(config_dir, text, {**ENV, "SMTP_PORT": "2525"})).port == 2525


def test_loading_is_side_effect_free(config_dir: Path) -> None:
    environ = dict(ENV)
    load(config_dir, HEAD + SMTP, environ)
    assert environ == ENV
    assert sorted(path.name for path in config_dir.parent.rglob("*")) == [
        "approvals.toml",
        "config",
    ]


# --- paths --------------------------------------------------------------------------------


def test_relative_paths_are_beside_the_config_file(config_dir: Path) -> None:
    text = (
        HEAD
        + SMTP
        + (
            'ca_file = "certs/ca.pem"\nclient_cert = "/etc/ssl/client.pem"\n'
            '[servers.graph]\ntype = "graph"\nmailbox = "a@b"\n'
            '[servers.graph.oauth2]\ntenant = "t"\nclient_id = "c"\n'
            'certificate_file = "certs/app.pem"\ncertificate_thumbprint = "AB"\n'
        )
    )
    text = text.replace('from = "Approvals', 'templates_dir = "my-templates"\nfrom = "Approvals')
    settings = load(config_dir, text)
    base = config_dir.absolute()
    assert smtp(settings).ca_file == base / "certs" / "ca.pem"
    assert smtp(settings).client_cert == Path("/etc/ssl/client.pem")
    graph = settings.servers["graph"]
    assert isinstance(graph, GraphServer)
    assert graph.oauth2.certificate_file == base / "certs" / "app.pem"
    assert settings.templates_dir == base / "my-templates"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/approvals.db", "sqlite:///{base}/data/approvals.db"),
        ("sqlite+pysqlite:///a.db?timeout=5", "sqlite+pysqlite:///{base}/a.db?timeout=5"),
        ("sqlite:////var/lib/approvals.db", "sqlite:////var/lib/approvals.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql://app@db/approvals", "postgresql://app@db/approvals"),
    ],
)
def test_store_url(config_dir: Path, url: str, expected: str) -> None:
    settings = load(config_dir, f'[store]\nurl = "{url}"\n' + HEAD + SMTP)
    assert settings.store.url == expected.format(base=config_dir.absolute().as_posix())


# --- error messages -------------------------------------------------------------------------


def test_port_out_of_range(config_dir: Path) -> None:
    message = error_of(config_dir, HEAD + SMTP.replace("port = 587", "port = 0"))
    assert message == (
        "config/approvals.toml, [servers.smtp-main] port: "
        "expected an integer from 1 to 65535, got 0"
    )


def test_missing_secret_suggests_a_variable(config_dir: Path) -> None:
    message = error_of(config_dir, HEAD.replace('secret = "$<<APPROVALS_SECRET>>"\n', "") + SMTP)
    assert message == (
        "config/approvals.toml, [tokens] secret: "
        'required; set it, e.g. secret = "$<<APPROVALS_SECRET>>"'
    )


def test_unknown_key_suggests_the_right_one(config_dir: Path) -> None:
    text = HEAD.replace('server = "imap-main"', 'server = "imap-main"\nintervall_minutes = 3')
    message = error_of(config_dir, text + SMTP)
    assert message == (
        "config/approvals.toml, [inbound] intervall_minutes: unknown key "
        "(did you mean interval_minutes?)"
    )


def test_unknown_key_in_a_server_table(config_dir: Path) -> None:
    message = error_of(config_dir, HEAD + SMTP + 'hots = "x"\n')
    assert message == (
        "config/approvals.toml, [servers.smtp-main] hots: unknown key (did you mean host?)"
    )


def test_unknown_top_level_key(config_dir: Path) -> None:
    message = error_of(config_dir, "debug = true\n" + HEAD + SMTP)
    assert message == "config/approvals.toml, debug: unknown key"


def test_keys_the_loader_sets_are_refused(config_dir: Path) -> None:
    message = error_of(config_dir, 'notices = ["x"]\n' + HEAD + SMTP)
    assert message.startswith("config/approvals.toml, notices: unknown key")


def test_missing_table(config_dir: Path) -> None:
    text = HEAD.replace('[inbound]\nserver = "imap-main"\n', "") + SMTP
    assert error_of(config_dir, text) == (
        "config/approvals.toml, [inbound]: required table is missing; add it"
    )


def test_bad_choice_lists_the_choices(config_dir: Path) -> None:
    message = error_of(config_dir, HEAD + SMTP + 'security = "ssl"\n')
    assert message == (
        "config/approvals.toml, [servers.smtp-main] security: expected one of 'none', "
        "'starttls-if-available', 'starttls-required' or 'tls', got \"ssl\""
    )


def test_bad_server_type(config_dir: Path) -> None:
    message = error_of(config_dir, HEAD + SMTP.replace('type = "smtp"', 'type = "smpt"'))
    assert message.startswith(
        "config/approvals.toml, [servers.smtp-main] type: expected one of 'smtp', 'imap'"
    )
    assert message.endswith('got "smpt"')


def test_cross_table_rule_names_the_file(config_dir: Path) -> None:
    text = HEAD.replace('server = "smtp-main"', 'server = "smtp-backup"') + SMTP
    assert error_of(config_dir, text) == (
        'config/approvals.toml: outbound.server names server "smtp-backup", but no '
        "[servers.smtp-backup] exists (defined: imap-main, smtp-main)"
    )


def test_several_problems_one_line_each(config_dir: Path) -> None:
    text = HEAD.replace("port = 993", "port = 99999") + SMTP + "verify = 3\n"
    text = text.replace('server = "imap-main"', 'server = "imap-main"\nmax_messages = 0')
    lines = error_of(config_dir, text).splitlines()
    assert lines == [
        "config/approvals.toml, [inbound] max_messages: expected an integer from 1 to 10000, got 0",
        "config/approvals.toml, [servers.imap-main] port: expected an integer from 1 to 65535, "
        "got 99999",
        "config/approvals.toml, [servers.smtp-main] verify: expected true or false, got 3",
    ]


def test_number_with_lower_bound_only(config_dir: Path) -> None:
    text = HEAD.replace("[outbound]", "[outbound]\nmax_attachment_bytes = -1")
    assert error_of(config_dir, text + SMTP) == (
        "config/approvals.toml, [outbound] max_attachment_bytes: expected an integer of at "
        "least 0, got -1"
    )


def test_toml_syntax_error_names_line_and_column(config_dir: Path) -> None:
    message = error_of(config_dir, HEAD + "[servers.smtp-main]\nport = = 1\n")
    line = len(HEAD.splitlines()) + 2
    assert message == f"config/approvals.toml, line {line}, column 8: invalid value"


def test_missing_file(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"^config/absent.toml: cannot read the configuration"):
        EngineSettings.load("config/absent.toml", environ=ENV)


def test_errors_never_show_secret_values(config_dir: Path) -> None:
    message = error_of(config_dir, HEAD + SMTP, {**ENV, "APPROVALS_SECRET": "short-secret"})
    assert message == (
        "config/approvals.toml, [tokens] secret: must be at least 16 characters "
        "(use a long random string)"
    )
    text = HEAD + SMTP.replace('password = "$<<SMTP_PASSWORD>>"', "password = 12345678")
    message = error_of(config_dir, text)
    assert "12345678" not in message
    assert message == (
        "config/approvals.toml, [servers.smtp-main] password: expected text in quotes, got (hidden)"
    )


# --- secrets are masked -------------------------------------------------------------------


SECRETS_TEXT = (
    '[store]\nurl = "postgresql://app:$<<DB_PASSWORD>>@db.example.com/approvals"\n'
    + HEAD
    + SMTP
    + '[servers.smtp-main.oauth2]\ntenant = "t"\nclient_id = "c"\n'
    + 'client_secret = "$<<CLIENT_SECRET>>"\n'
    + '[servers.sendgrid]\ntype = "sendgrid"\napi_key = "$<<SENDGRID_KEY>>"\n'
)
SECRET_VALUES = {
    "DB_PASSWORD": "db-pa55-xyz",
    "CLIENT_SECRET": "cl1ent-xyz",
    "SENDGRID_KEY": "SG.k3y",
}


def test_describe_config_masks_every_secret(config_dir: Path) -> None:
    settings = load(config_dir, SECRETS_TEXT, {**ENV, **SECRET_VALUES})
    text = describe_config(settings)
    for value in (SECRET, SMTP_PASSWORD, *SECRET_VALUES.values()):
        assert value not in text
    assert 'secret = "********"' in text
    assert 'password = "********"' in text
    assert 'api_key = "********"' in text
    assert 'client_secret = "********"' in text
    assert 'url = "postgresql://app:********@db.example.com/approvals"' in text
    assert "[servers.smtp-main.oauth2]" in text
    assert 'host = "smtp.example.com"' in text
    assert 'from = "Approvals <approvals@example.com>"' in text


def test_repr_and_str_mask_every_secret(config_dir: Path) -> None:
    settings = load(config_dir, SECRETS_TEXT, {**ENV, **SECRET_VALUES})
    for text in (repr(settings), str(settings), repr(settings.store)):
        for value in (SECRET, SMTP_PASSWORD, *SECRET_VALUES.values()):
            assert value not in text
    assert "app:********@db.example.com" in repr(settings.store)
    assert settings.store.url == "postgresql://app:db-pa55-xyz@db.example.com/approvals"


def test_load_config_is_generic(config_dir: Path) -> None:
    """mailio's loader works for any model, e.g. one server table on its own."""
    path = write(config_dir, 'type = "smtp"\nhost = "h"\nport = 25\nca_file = "ca.pem"\n', "s.toml")
    server = load_config(path, SmtpServer, environ={})
    assert server.ca_file == config_dir.absolute() / "ca.pem"


@pytest.mark.parametrize(
    "proxy", ["socks5://user:pw-secret@127.0.0.1", "http://proxy.example.test", "ftp://p:1"]
)
def test_incomplete_proxy_is_refused_without_its_password(config_dir: Path, proxy: str) -> None:
    text = HEAD + SMTP + f'proxy = "{proxy}"\n'
    path = config_dir / "approvals.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"\[servers\.smtp-main\]: proxy must be") as failure:
        load_config(path, EngineSettings, environ=ENV)
    assert "pw-secret" not in str(failure.value)
