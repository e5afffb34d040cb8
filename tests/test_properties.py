"""$<<VAR>> templating, .properties syntax and the JavaMail mapping (pure, no files)."""

from __future__ import annotations

import pytest

from mailio.errors import ConfigError, TemplateVariableError
from mailio.properties import (
    PROPERTIES_HINT,
    Property,
    disagreements,
    expand,
    first_of,
    from_environment,
    from_mapping,
    javamail_to_server_fields,
    literal,
    parse_properties,
    resolve_properties,
    server_variables,
)

SOURCE = "config/x.properties"


def expand_with(text: str, values: dict[str, str], line: int | None = 4) -> str:
    return expand(text, from_mapping(values), source=SOURCE, line=line, hint=PROPERTIES_HINT)


def mapped(text: str, server_type: str = "smtp", environ: dict[str, str] | None = None):
    entries = resolve_properties(
        parse_properties(text, source=SOURCE),
        source=SOURCE,
        server_fields={},
        environ=environ or {},
    )
    return javamail_to_server_fields(entries, server_type=server_type, source=SOURCE)


# --- templating -----------------------------------------------------------------------------


def test_reference_is_replaced_and_nested_values_expand() -> None:
    values = {"HOST": "smtp.$<<DOMAIN>>", "DOMAIN": "example.com"}
    assert expand_with("mail at $<<HOST>>:25", values) == "mail at smtp.example.com:25"


def test_double_dollar_is_a_literal_reference() -> None:
    assert expand_with("$$<<HOST>> and $<<A>>", {"A": "a"}) == "$<<HOST>> and a"


def test_variable_names_may_contain_dots() -> None:
    assert expand_with("$<<mail.smtp.host>>", {"mail.smtp.host": "h"}) == "h"


def test_undefined_variable_names_file_line_and_fix() -> None:
    with pytest.raises(TemplateVariableError) as caught:
        expand_with("$<<SMTP_PASS>>", {})
    assert str(caught.value) == (
        "config/x.properties, line 4: $<<SMTP_PASS>> is not defined; "
        "define SMTP_PASS in the file, or set it in the environment"
    )


def test_undefined_variable_behind_another_names_both() -> None:
    with pytest.raises(
        TemplateVariableError, match=r"\$<<B>> is not defined \(needed by \$<<A>>\)"
    ):
        expand_with("$<<A>>", {"A": "$<<B>>"})


def test_cycle_names_the_chain() -> None:
    with pytest.raises(TemplateVariableError) as caught:
        expand_with("$<<A>>", {"A": "x$<<B>>", "B": "$<<A>>"})
    assert (
        str(caught.value) == "config/x.properties, line 4: $<<A>> refers to itself through B -> A"
    )


def test_self_reference_is_a_cycle() -> None:
    with pytest.raises(TemplateVariableError, match=r"\$<<A>> refers to itself through A$"):
        expand_with("$<<A>>", {"A": "$<<A>>"})


def test_malformed_reference_is_reported_with_the_escape() -> None:
    with pytest.raises(TemplateVariableError, match=r"line 4: .*write \$\$<< for a literal"):
        expand_with("$<<1BAD>>", {})


def test_environment_values_are_taken_literally() -> None:
    resolve = from_environment({"PASSWORD": "pa$<<ss>>"})
    assert expand("$<<PASSWORD>>", resolve, source=SOURCE, line=1) == "pa$<<ss>>"
    assert expand(literal("$$<<x"), lambda name: None, source=SOURCE, line=1) == "$$<<x"


def test_first_of_asks_in_order() -> None:
    resolve = first_of(from_mapping({"A": "file"}), from_environment({"A": "env", "B": "env"}))
    assert expand("$<<A>> $<<B>>", resolve, source=SOURCE, line=None) == "file env"


def test_message_without_line_names_the_file() -> None:
    with pytest.raises(TemplateVariableError, match=r"^config/x.properties: \$<<X>> is not"):
        expand_with("$<<X>>", {}, line=None)


# --- .properties syntax ---------------------------------------------------------------------


def test_separators_comments_and_line_numbers() -> None:
    text = "# comment\n! also a comment\n\na=1\n  b : two words \nc   3\nd\ne=x=y\n"
    entries = parse_properties(text, source=SOURCE)
    assert entries == [
        Property("a", "1", 4),
        Property("b", "two words ", 5),
        Property("c", "3", 6),
        Property("d", "", 7),
        Property("e", "x=y", 8),
    ]


def test_continuation_joins_lines_and_keeps_the_first_line_number() -> None:
    text = "x=1\nlist = a, \\\n        b, \\\n        c\ny=2\n# comment \\\nz=3"
    entries = parse_properties(text, source=SOURCE)
    assert entries == [
        Property("x", "1", 1),
        Property("list", "a, b, c", 2),
        Property("y", "2", 5),
        Property("z", "3", 7),
    ]


def test_escaped_backslash_at_end_does_not_continue() -> None:
    entries = parse_properties("path=C:\\\\\nnext=1", source=SOURCE)
    assert entries == [Property("path", "C:\\", 1), Property("next", "1", 2)]


def test_escapes_in_keys_and_values() -> None:
    entries = parse_properties(r"my\ key\=x = caf\u00e9\ttab\#", source=SOURCE)
    assert entries == [Property("my key=x", "café\ttab#", 1)]


def test_windows_line_endings() -> None:
    entries = parse_properties("a=1\r\nb=2\r\n", source=SOURCE)
    assert entries == [Property("a", "1", 1), Property("b", "2", 2)]


def test_malformed_unicode_escape_names_line() -> None:
    with pytest.raises(ConfigError, match=r"^config/x.properties, line 2: malformed \\uXXXX"):
        parse_properties("a=1\nb=\\u12", source=SOURCE)


# --- resolution in a properties file --------------------------------------------------------


def resolve(text: str, server_fields: dict[str, str], environ: dict[str, str]) -> dict[str, str]:
    entries = resolve_properties(
        parse_properties(text, source=SOURCE),
        source=SOURCE,
        server_fields=server_fields,
        environ=environ,
    )
    return {entry.key: entry.value for entry in entries}


def test_resolution_order_is_file_then_server_fields_then_environment() -> None:
    text = (
        "A=from-file\nmail.smtp.host=$<<A>>\n"
        "mail.smtp.port=$<<SMTP_HOST_PORT>>\nmail.smtp.user=$<<U>>"
    )
    server = {"A": "from-server", "SMTP_HOST_PORT": "2525"}
    environ = {"A": "from-env", "SMTP_HOST_PORT": "1", "U": "user-from-env"}
    values = resolve(text, server, environ)
    assert values["mail.smtp.host"] == "from-file"
    assert values["mail.smtp.port"] == "2525"
    assert values["mail.smtp.user"] == "user-from-env"


def test_variables_in_keys() -> None:
    values = resolve("PROTOCOL=smtp\nmail.$<<PROTOCOL>>.host=mx.example.com", {}, {})
    assert values["mail.smtp.host"] == "mx.example.com"


def test_any_key_may_be_referenced_even_after_expansion() -> None:
    text = "P=smtp\nmail.$<<P>>.user=me@example.com\nmail.smtp.from=$<<mail.smtp.user>>"
    assert resolve(text, {}, {})["mail.smtp.from"] == "me@example.com"


def test_later_definition_wins_as_in_java() -> None:
    assert resolve("A=1\nA=2\nB=$<<A>>", {}, {})["B"] == "2"


def test_undefined_in_file_names_the_line_of_the_reference() -> None:
    with pytest.raises(TemplateVariableError) as caught:
        resolve("# x\n\nmail.smtp.host=h\nmail.smtp.password=$<<SMTP_PASS>>", {}, {})
    assert str(caught.value) == (
        "config/x.properties, line 4: $<<SMTP_PASS>> is not defined; "
        "define SMTP_PASS in the file, or set it in the environment"
    )


def test_cycle_in_file_names_line() -> None:
    with pytest.raises(TemplateVariableError) as caught:
        resolve("mail.smtp.host=h\nA=$<<B>>\nB=$<<A>>\n", {}, {})
    assert (
        str(caught.value) == "config/x.properties, line 2: $<<A>> refers to itself through B -> A"
    )


def test_definition_referring_to_itself_is_a_cycle() -> None:
    with pytest.raises(TemplateVariableError, match=r"line 1: \$<<A>> refers to itself through A$"):
        resolve("A=x$<<A>>", {}, {})


def test_server_variables_from_the_table() -> None:
    smtp = server_variables("smtp", {"host": "h", "port": 587, "security": "starttls-required"})
    assert smtp == {
        "SMTP_HOST_NAME": "h",
        "SMTP_HOST_PORT": "587",
        "SMTP_ENABLE_TLS": "true",
        "PROTOCOL": "smtp",
    }
    imap = server_variables("imap", {"host": "i", "port": 143, "security": "none"})
    assert imap == {
        "IMAP_HOST_NAME": "i",
        "IMAP_HOST_PORT": "143",
        "IMAP_ENABLE_STARTTLS": "false",
        "PROTOCOL": "imap",
    }


def test_enable_starttls_is_flexdeploys_starttls_field_and_protocol_follows_tls() -> None:
    """FlexDeploy: "If TLS, make sure STARTTLS is disabled"; PROTOCOL is imaps for TLS."""
    implicit = server_variables("imap", {"security": "tls"})
    assert (implicit["IMAP_ENABLE_STARTTLS"], implicit["PROTOCOL"]) == ("false", "imaps")
    default = server_variables("smtp", {})
    assert (default["SMTP_ENABLE_TLS"], default["PROTOCOL"]) == ("true", "smtp")
    assert server_variables("graph", {"host": "x"}) == {}


# --- JavaMail mapping -----------------------------------------------------------------------


def test_host_port_user_auth() -> None:
    result = mapped(
        "mail.smtp.host=smtp.example.com\nmail.smtp.port=25\nmail.smtp.auth=true\n"
        "mail.smtp.user=me@example.com"
    )
    assert result.fields == {
        "host": "smtp.example.com",
        "port": 25,
        "auth": "password",
        "username": "me@example.com",
    }
    assert (result.unknown, result.notices) == ([], [])


def test_auth_false_is_none() -> None:
    assert mapped("mail.smtp.auth=FALSE").fields == {"auth": "none"}


def test_mail_user_is_the_fallback_username() -> None:
    assert mapped("mail.user=generic").fields == {"username": "generic"}
    assert mapped("mail.user=generic\nmail.smtp.user=own").fields == {"username": "own"}


def test_starttls_enable_is_if_available() -> None:
    assert mapped("mail.smtp.starttls.enable=true").fields == {"security": "starttls-if-available"}


def test_starttls_enable_false_keeps_the_safe_default() -> None:
    assert mapped("mail.smtp.starttls.enable=false").fields == {}


def test_starttls_required() -> None:
    fields = mapped("mail.smtp.starttls.enable=true\nmail.smtp.starttls.required=true").fields
    assert fields == {"security": "starttls-required"}


@pytest.mark.parametrize(
    "text",
    [
        "mail.smtp.ssl.enable=true",
        "mail.smtp.socketFactory.class=javax.net.ssl.SSLSocketFactory",
        "mail.smtps.host=h",
        "mail.transport.protocol=smtps",
        "mail.smtp.ssl.enable=true\nmail.smtp.starttls.enable=true",
    ],
)
def test_implicit_tls(text: str) -> None:
    assert mapped(text).fields["security"] == "tls"


def test_imaps_is_tls_for_imap_servers() -> None:
    fields = mapped(
        "mail.store.protocol=imaps\nmail.imaps.host=i\nmail.imaps.port=993", "imap"
    ).fields
    assert fields == {"security": "tls", "host": "i", "port": 993}


def test_socket_factory_port_wins_over_port() -> None:
    text = "mail.smtp.socketFactory.port=465\nmail.smtp.port=25"
    assert mapped(text).fields["port"] == 465


def test_unknown_socket_factory_is_an_error_naming_the_line() -> None:
    with pytest.raises(ConfigError, match=r"line 2: mail.smtp.socketFactory.class: only javax"):
        mapped("mail.smtp.host=h\nmail.smtp.socketFactory.class=com.example.Plain")


def test_socket_factory_fallback_is_ignored_with_a_notice() -> None:
    result = mapped("mail.smtp.socketFactory.fallback=false")
    assert result.fields == {} and result.unknown == []
    assert result.notices == [
        "config/x.properties, line 1: mail.smtp.socketFactory.fallback is ignored: this engine "
        "never falls back to an unencrypted connection when TLS fails"
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("TLSv1.2 TLSv1.3", "TLSv1.2"), ("TLSv1.3", "TLSv1.3"), ("TLSv1.3,TLSv1.2", "TLSv1.2")],
)
def test_ssl_protocols_give_the_lowest_listed(value: str, expected: str) -> None:
    assert mapped(f"mail.smtp.ssl.protocols={value}").fields == {"tls_min_version": expected}


@pytest.mark.parametrize("value", ["TLSv1 TLSv1.2", "TLSv1.1"])
def test_old_tls_versions_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^config/x.properties, line 1: .*not supported"):
        mapped(f"mail.smtp.ssl.protocols={value}")


def test_ssl_trust_star_turns_verification_off_loudly() -> None:
    result = mapped("mail.smtp.ssl.trust=*")
    assert result.fields == {"verify": False}
    assert len(result.notices) == 1
    assert result.notices[0].startswith("config/x.properties, line 1: WARNING:")
    assert "verify = false" in result.notices[0]


def test_ssl_trust_hosts_keep_verification_on() -> None:
    result = mapped("mail.smtp.ssl.trust=smtp.example.com  smtp2.example.com")
    assert result.fields == {}
    assert "verify stays true" in result.notices[0]
    assert "smtp.example.com smtp2.example.com" in result.notices[0]


def test_check_server_identity_false_gives_a_notice() -> None:
    result = mapped("mail.smtp.ssl.checkserveridentity=false")
    assert result.fields == {}
    assert "always checked" in result.notices[0]
    assert mapped("mail.smtp.ssl.checkserveridentity=true").notices == []


def test_timeouts_in_milliseconds_become_seconds() -> None:
    fields = mapped(
        "mail.smtp.connectiontimeout=5000\nmail.smtp.timeout=20000\nmail.smtp.writetimeout=45000"
    ).fields
    assert fields == {"timeouts": {"connect": 5.0, "socket": 45.0}}
    assert mapped("mail.smtp.writetimeout=1000\nmail.smtp.timeout=2500").fields == {
        "timeouts": {"socket": 2.5}
    }


def test_zero_timeout_means_forever_and_keeps_the_default() -> None:
    result = mapped("mail.smtp.timeout=0")
    assert result.fields == {}
    assert "wait forever" in result.notices[0]


def test_from_and_localhost_for_smtp() -> None:
    fields = mapped("mail.smtp.from=bounce@example.com\nmail.smtp.localhost=me.example.com").fields
    assert fields == {"from_address": "bounce@example.com", "local_hostname": "me.example.com"}


def test_from_is_unknown_for_imap() -> None:
    assert mapped("mail.imap.from=x", "imap").unknown == ["mail.imap.from"]


def test_protocol_keys_are_accepted() -> None:
    assert mapped("mail.transport.protocol=smtp")[:3] == ({}, [], [])
    assert mapped("mail.store.protocol=imap", "imap")[:3] == ({}, [], [])


def test_wrong_protocol_value_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"mail.transport.protocol: expected smtp or smtps"):
        mapped("mail.transport.protocol=pop3")


def test_unknown_keys_are_returned_not_dropped() -> None:
    result = mapped(
        "SMTP_USER=me\nmail.smtp.host=h\nmail.debug=true\nmail.imap.host=i\nmail.smtp.quitwait=false"
    )
    assert result.fields == {"host": "h"}
    assert result.unknown == ["mail.debug", "mail.imap.host", "mail.smtp.quitwait"]


def test_other_family_is_unknown_for_this_server() -> None:
    assert mapped("mail.smtp.host=h\nmail.transport.protocol=smtp", "imap").unknown == [
        "mail.smtp.host",
        "mail.transport.protocol",
    ]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("mail.smtp.port=abc", r"line 1: mail.smtp.port: expected an integer from 1 to 65535"),
        ("\nmail.smtp.port=70000", r"line 2: mail.smtp.port: expected an integer from 1 to 65535"),
        ("mail.smtp.auth=yes", r"line 1: mail.smtp.auth: expected true or false, got 'yes'"),
        ("mail.smtp.timeout=soon", r"line 1: mail.smtp.timeout: expected milliseconds"),
    ],
)
def test_bad_values_name_file_line_and_key(text: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=r"^config/x.properties, " + pattern):
        mapped(text)


def test_a_plain_mapping_works_too() -> None:
    result = javamail_to_server_fields({"mail.imap.host": "i", "mail.smtp.host": "s"})
    assert result.fields == {"host": "i"}  # the family is guessed from the first protocol key
    assert result.unknown == ["mail.smtp.host"]


def test_keys_of_the_protocol_not_in_use_are_ignored_as_javamail_does() -> None:
    """A pasted mail.smtps.* line must not turn a STARTTLS server on 587 into implicit TLS."""
    mapped = javamail_to_server_fields(
        {
            "mail.smtp.host": "smtp.office365.com",
            "mail.smtp.port": "587",
            "mail.smtp.starttls.enable": "true",
            "mail.smtps.auth": "true",
        }
    )
    assert mapped.fields["security"] == "starttls-if-available"
    assert mapped.unknown == ["mail.smtps.auth"]
    assert "mail.transport.protocol = smtps" in mapped.notices[0]


def test_the_named_transport_protocol_selects_its_keys() -> None:
    mapped = javamail_to_server_fields(
        {"mail.transport.protocol": "smtps", "mail.smtps.host": "a", "mail.smtp.host": "b"}
    )
    assert (mapped.fields["host"], mapped.fields["security"]) == ("a", "tls")


# --- FlexDeploy's ${{VAR}} ------------------------------------------------------------------


def test_flexdeploy_references_mean_the_same_as_angle_references() -> None:
    text = "PROTOCOL=smtp\nmail.${{PROTOCOL}}.host=${{SMTP_HOST_NAME}}\nmail.smtp.from=$<<F>>"
    values = resolve(text, {"SMTP_HOST_NAME": "h"}, {"F": "a${{B}}"})
    assert values["mail.smtp.host"] == "h"
    assert values["mail.smtp.from"] == "a${{B}}"  # environment values stay literal


def test_double_dollar_brace_is_a_literal() -> None:
    assert resolve("A=$${{B}}", {}, {})["A"] == "${{B}}"


def test_flexdeploy_undefined_and_cycle_name_the_line() -> None:
    with pytest.raises(
        TemplateVariableError, match=r"line 2: \$\{\{X\}\} is not defined; define X"
    ):
        resolve("mail.smtp.host=h\nmail.smtp.from=${{X}}", {}, {})
    with pytest.raises(TemplateVariableError, match=r"line 1: \$\{\{A\}\} refers to itself"):
        resolve("A=${{A}}", {}, {})


def test_flexdeploy_protocol_line_selects_the_protocol() -> None:
    result = mapped("PROTOCOL=imaps\nmail.${{PROTOCOL}}.host=h\nmail.imap.port=143", "imap")
    assert result.fields == {"host": "h", "security": "tls"}
    assert result.unknown == ["mail.imap.port"]


@pytest.mark.parametrize(
    ("value", "fields"),
    [
        ("com.sun.mail.smtp.SMTPTransport", {}),
        ("org.eclipse.angus.mail.smtp.SMTPSSLTransport", {"security": "tls"}),
    ],
)
def test_javamail_provider_classes_are_understood(value: str, fields: dict[str, str]) -> None:
    assert mapped(f"mail.smtp.class={value}")[:3] == (fields, [], [])


def test_an_unknown_provider_class_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"line 1: mail.smtp.class: only JavaMail's own"):
        mapped("mail.smtp.class=com.example.MyTransport")


def test_disagreements_name_the_line_and_both_values() -> None:
    result = mapped("mail.smtp.host=a\nmail.smtp.port=25\nmail.smtp.starttls.enable=true")
    table = {"host": "b", "port": "25", "security": "starttls-required"}
    assert [
        (d.field, d.entry.line, d.file_value, d.table_value) for d in disagreements(result, table)
    ] == [("host", 1, "a", "b")]
    assert disagreements(mapped("mail.smtp.auth=true"), {"auth": "oauth2"}) == []
    assert disagreements(mapped("mail.smtp.auth=false"), {"auth": "oauth2"})[0].field == "auth"
