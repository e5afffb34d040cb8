"""SigV4 against AWS's published Signature Version 4 test suite.

Credentials, date, region and service are the suite's fixed example values
(aws-sig-v4-test-suite: AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, "service").
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailio.sigv4 import (
    AwsCredentials,
    canonical_request,
    credential_scope,
    sign_request,
    string_to_sign,
)

SUITE_DATE = datetime(2015, 8, 30, 12, 36, 0, tzinfo=UTC)
SUITE_CREDENTIALS = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SCOPE = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
STS_TOKEN = (
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAe"
    "MicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZa"
    "mpKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7"
    "ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/o"
    "LxBA=="
)
HOST = {"Host": "example.amazonaws.com"}


def test_get_vanilla_canonical_request_and_string_to_sign():
    headers = {**HOST, "X-Amz-Date": "20150830T123600Z"}
    request, signed = canonical_request("GET", "https://example.amazonaws.com/", headers, b"")
    assert request == (
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
        "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert signed == "host;x-amz-date"
    scope = credential_scope(SUITE_DATE, "us-east-1", "service")
    assert string_to_sign(SUITE_DATE, scope, request) == (
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    )


@pytest.mark.parametrize(
    ("method", "url", "headers", "body", "token", "expected"),
    [
        pytest.param(
            "GET", "https://example.amazonaws.com/", HOST, b"", None,
            "SignedHeaders=host;x-amz-date, Signature="
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            id="get-vanilla",
        ),
        pytest.param(
            "POST", "https://example.amazonaws.com/", HOST, b"", None,
            "SignedHeaders=host;x-amz-date, Signature="
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            id="post-vanilla",
        ),
        pytest.param(
            "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", HOST, b"", None,
            "SignedHeaders=host;x-amz-date, Signature="
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            id="get-vanilla-query-order-key-case",
        ),
        pytest.param(
            "POST", "https://example.amazonaws.com/",
            {"Content-Type": "application/x-www-form-urlencoded", **HOST}, b"Param1=value1", None,
            "SignedHeaders=content-type;host;x-amz-date, Signature="
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
            id="post-x-www-form-urlencoded",
        ),
        pytest.param(
            "POST", "https://example.amazonaws.com/", HOST, b"", STS_TOKEN,
            "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
            id="post-sts-header-before",
        ),
    ],
)  # fmt: skip
def test_signature_matches_published_vector(method, url, headers, body, token, expected):
    credentials = AwsCredentials(
        SUITE_CREDENTIALS.access_key_id, SUITE_CREDENTIALS.secret_access_key, token
    )
    signed = sign_request(
        method, url, headers, body,
        credentials=credentials, region="us-east-1", service="service", now=SUITE_DATE,
    )  # fmt: skip
    assert signed["Authorization"] == f"AWS4-HMAC-SHA256 {SCOPE}, {expected}"
    assert signed["X-Amz-Date"] == "20150830T123600Z"


def test_host_is_added_from_the_url_when_missing():
    signed = sign_request(
        "GET", "https://example.amazonaws.com/", {}, b"",
        credentials=SUITE_CREDENTIALS, region="us-east-1", service="service", now=SUITE_DATE,
    )  # fmt: skip
    assert signed["Host"] == "example.amazonaws.com"
    assert signed["Authorization"].endswith(
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_credentials_repr_hides_the_secret_and_token():
    text = repr(AwsCredentials("AKID", "very-secret", "session-tok"))
    assert "AKID" in text
    assert "very-secret" not in text and "session-tok" not in text
