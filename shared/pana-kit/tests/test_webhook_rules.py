"""Webhook rules, plain and fast: signatures (checked against the Standard Webhooks reference package), the retry
schedule, who may receive which service's events, and which callback URLs are refused (SSRF)."""

from __future__ import annotations

import base64
from datetime import datetime, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from pana_kit import webhook_rules as rules
from pana_kit.roles import ROLE_SCOPES, SCOPES

BODY = b'{"id":"e1","type":"rsd.decision.issued.v1","data":{"outcome":"recognised"}}'


def test_a_new_secret_is_whsec_and_32_random_bytes():
    secret = rules.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert rules.new_secret() != secret


def test_the_signature_is_what_the_reference_implementation_verifies():
    secret = rules.new_secret()
    now = int(datetime.now(timezone.utc).timestamp())
    headers = rules.signature_headers(secret, "e1", now, BODY)
    assert headers["webhook-id"] == "e1" and headers["webhook-timestamp"] == str(now)
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/cloudevents+json"
    Webhook(secret).verify(BODY, headers)  # raises when it does not verify
    assert rules.sign(secret, "e1", now, BODY) == Webhook(secret).sign("e1", datetime.fromtimestamp(now, timezone.utc),
                                                                       BODY.decode())


@pytest.mark.parametrize("change", ["body", "id", "timestamp", "secret"])
def test_any_change_breaks_the_signature(change):
    secret = rules.new_secret()
    now = int(datetime.now(timezone.utc).timestamp())
    headers = rules.signature_headers(secret, "e1", now, BODY)
    body = BODY
    if change == "body":
        body = BODY.replace(b"recognised", b"rejected")
    elif change == "id":
        headers["webhook-id"] = "e2"
    elif change == "timestamp":
        headers["webhook-timestamp"] = str(now - 1)
    else:
        secret = rules.new_secret()
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_retries_follow_the_schedule_then_park():
    schedule = (5, 300, 1800)
    assert [rules.retry_delay(schedule, n, jitter=0) for n in (1, 2, 3)] == [5, 300, 1800]
    assert rules.retry_delay(schedule, 4, jitter=0) is None  # parked
    assert rules.retry_delay(schedule, 0) == 0


def test_jitter_stays_within_its_bounds():
    assert rules.retry_delay((100,), 1, jitter=0.2, rand=lambda: 0.0) == pytest.approx(80)
    assert rules.retry_delay((100,), 1, jitter=0.2, rand=lambda: 1.0) == pytest.approx(120)
    assert rules.retry_delay((100,), 1, jitter=0.2, rand=lambda: 0.5) == pytest.approx(100)


def test_the_default_schedule_is_bounded_and_grows():
    schedule = rules.DEFAULT_RETRY_SCHEDULE_S
    assert list(schedule) == sorted(schedule) and sum(schedule) < 2 * 86_400


@pytest.mark.parametrize("status,retry", [(None, True), (500, True), (503, True), (429, True), (408, True),
                                          (400, False), (401, False), (404, False), (410, False), (200, False)])
def test_what_is_retried(status, retry):
    assert rules.should_retry(status) is retry


def test_only_2xx_is_delivered():
    assert rules.delivered(200) and rules.delivered(204) and not rules.delivered(None)
    assert not rules.delivered(301) and not rules.delivered(500)


def test_each_service_events_need_its_existing_read_scopes():
    for service, needed in rules.READ_SCOPES_BY_SOURCE.items():
        assert needed <= set(SCOPES), service
    assert rules.may_read("rsd", {"rsd:read"}) and not rules.may_read("rsd", {"registration:read"})
    assert rules.may_read("registration", {"registration:read"})
    assert not rules.may_read("registration", {"registration:verify"})
    assert rules.MANAGE_SCOPE in SCOPES


def test_which_roles_may_receive_what():
    readers = {service: {role for role, scopes in ROLE_SCOPES.items() if rules.may_read(service, scopes)}
               for service in rules.READ_SCOPES_BY_SOURCE}
    assert "integration-system" in set.intersection(*readers.values())
    assert "service-provider" not in set.union(*readers.values())
    assert {role for role, scopes in ROLE_SCOPES.items() if rules.MANAGE_SCOPE in scopes} == {"integration-system"}


def _no_dns(host):
    raise AssertionError(f"resolved {host}")


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/x", "https://10.0.0.5/x", "https://172.16.3.4/", "https://192.168.1.1/", "https://[::1]/",
    "https://169.254.169.254/latest/meta-data/", "https://[fe80::1]/", "https://[fd00::1]/", "https://100.64.0.1/",
    "https://0.0.0.0/", "https://224.0.0.1/", "https://[::ffff:10.0.0.1]/", "https://localhost/x",
])
def test_private_loopback_and_metadata_addresses_are_refused_in_production(url):
    with pytest.raises(rules.UnacceptableUrl):
        rules.check_callback_url(url, dev_mode=False, resolve=_no_dns)


def test_a_name_resolving_to_a_private_address_is_refused():
    with pytest.raises(rules.UnacceptableUrl, match="not a public address"):
        rules.check_callback_url("https://hooks.example.org/x", dev_mode=False,
                                 resolve=lambda host: ["93.184.216.34", "10.1.2.3"])
    rules.check_callback_url("https://hooks.example.org/x", dev_mode=False, resolve=lambda host: ["93.184.216.34"])


@pytest.mark.parametrize("url", ["http://93.184.216.34/x", "ftp://example.org/", "https://user:pw@example.org/",
                                 "https:///nohost", "https://example.org/#frag", "not a url",
                                 "https://example.org:99999/", "https://[::1/"])
def test_other_bad_urls(url):
    with pytest.raises(rules.UnacceptableUrl):
        rules.check_callback_url(url, dev_mode=False, resolve=lambda host: ["93.184.216.34"])


@pytest.mark.parametrize("url", ["https://a..b/", "https://" + "a" * 70 + ".org/", "https://no-such-host.invalid/"])
def test_names_that_do_not_resolve_are_refused_not_a_crash(url):
    with pytest.raises(rules.UnacceptableUrl, match="does not resolve"):  # the real lookup (IDNA refuses the first two)
        rules.check_callback_url(url, dev_mode=False)


def test_dev_mode_allows_loopback_and_http_only_there():
    rules.check_callback_url("http://127.0.0.1:8123/hook", dev_mode=True, resolve=_no_dns)
    rules.check_callback_url("http://localhost:8123/hook", dev_mode=True, resolve=_no_dns)
    rules.check_callback_url("https://[::1]:8443/hook", dev_mode=True, resolve=_no_dns)
    with pytest.raises(rules.UnacceptableUrl):
        rules.check_callback_url("http://127.0.0.1:8123/hook", dev_mode=False, resolve=_no_dns)
    with pytest.raises(rules.UnacceptableUrl):  # dev mode opens loopback, not the private network
        rules.check_callback_url("https://10.0.0.5/hook", dev_mode=True, resolve=_no_dns)
    with pytest.raises(rules.UnacceptableUrl):
        rules.check_callback_url("http://93.184.216.34/hook", dev_mode=True, resolve=_no_dns)


@pytest.mark.parametrize("url,lookup", [
    ("https://hooks.example.org/pana", True), ("http://127.0.0.1:9/x", False), ("https://[::1]/x", False),
    ("http://localhost:8080/x", False), ("https://203.0.113.7/x", False), ("not a url", False)])
def test_only_a_host_name_needs_a_lookup(url, lookup):
    assert rules.needs_lookup(url) is lookup
