"""ACL signing and verified TLS through ``options`` (the library's bc_config keys) against the
broker of ``scripts/security-compat.sh boot-secure VERSION``: TLS only, client certificates of
the test CA required, every request authenticated. ``scripts/security-compat.sh secure VERSION``
runs this file with its environment (the same as tests/secure_broker.rs):

- ``BC_BROKER_ADDR``: the secure broker
- ``BC_TLS_DIR``: ``ca.pem``, ``client.pem``, ``client.key``, ``other-ca.pem``
- ``BC_ACL_ACCESS_KEY``, ``BC_ACL_SECRET_KEY``: its credentials

Skipped only when none of ``BC_TLS_DIR``, ``BC_ACL_ACCESS_KEY`` and ``BC_ACL_SECRET_KEY`` is
set (the plain run of scripts/python-tests.sh has no secure broker); some but not all set is a
failure.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, Dict, Iterator, Optional

import pytest

import brokerclient as bc
from conftest import broker_addr, unique

_ENV = ("BC_TLS_DIR", "BC_ACL_ACCESS_KEY", "BC_ACL_SECRET_KEY")
_MISSING = [n for n in _ENV if not os.environ.get(n)]

pytestmark = pytest.mark.skipif(
    len(_MISSING) == len(_ENV),
    reason="no secure broker: BC_TLS_DIR, BC_ACL_ACCESS_KEY and BC_ACL_SECRET_KEY are unset "
    "(scripts/security-compat.sh secure VERSION sets them)",
)

# Client statuses (bc_status) the refusals must carry.
CONNECTION = -2
AUTHORIZATION = 101


class Secure:
    def __init__(self) -> None:
        assert not _MISSING, f"{', '.join(_MISSING)} not set (the others are): incomplete"
        tls_dir = os.environ["BC_TLS_DIR"]
        self.access_key = os.environ["BC_ACL_ACCESS_KEY"]
        self.secret = os.environ["BC_ACL_SECRET_KEY"]
        # Shares a prefix with the right one, so a leak of either is caught.
        self.wrong = self.secret + "-not-it"

        def file(name: str) -> str:
            path = os.path.join(tls_dir, name)
            assert os.path.isfile(path), f"{path} is missing"
            return path

        self.ca, self.other_ca = file("ca.pem"), file("other-ca.pem")
        self.cert, self.key = file("client.pem"), file("client.key")

    def verified(
        self, access_key: Optional[str] = None, secret: Optional[str] = None
    ) -> Dict[str, Any]:
        """TLS with the test CA and the client certificate, plus ACL keys when given."""
        opts: Dict[str, Any] = {
            "tls.enable": "true",
            "tls.ca.file": self.ca,
            "tls.cert.file": self.cert,
            "tls.key.file": self.key,
        }
        if access_key is not None:
            opts["acl.access.key"] = access_key
            opts["acl.secret.key"] = secret
        return opts

    def right(self) -> Dict[str, Any]:
        return self.verified(self.access_key, self.secret)

    def client(self, options: Dict[str, Any]) -> bc.BrokerClient:
        opts = {"connect.timeout.ms": 10000, **options}
        return bc.BrokerClient(broker_addr(), timeout=15, options=opts)

    def assert_no_secret(self, what: str, text: str) -> None:
        assert self.secret not in text and self.wrong not in text, f"{what} carries a secret key"


@pytest.fixture(scope="module")
def secure() -> Secure:
    return Secure()


@pytest.fixture(scope="module")
def secure_topic(secure: Secure) -> str:
    """A topic created on the secure broker by a signed admin request over verified TLS."""
    name = unique("py_sec")
    c = secure.client(secure.right())
    try:
        c.create_topic(name, 4)
    finally:
        c.close()
    return name


@pytest.fixture
def right_client(secure: Secure) -> Iterator[bc.BrokerClient]:
    with secure.client(secure.right()) as c:  # `with` connects
        yield c


def _pull_found(c: bc.BrokerClient, topic: str, queue_id: int, offset: int) -> bc.PullResult:
    # Long polling: the broker answers once the message is pullable; the rounds bound the wait.
    for _ in range(10):
        r = c.pull_message("py_sec_cg", topic, queue_id, offset, 32, suspend_timeout=3.0)
        if r.status == bc.PullStatus.FOUND:
            return r
        assert r.status == bc.PullStatus.NO_NEW_MSG, r
    raise AssertionError(f"the message sent at offset {offset} was never pulled")


def test_secure_right_keys_over_verified_tls_send_and_pull(
    right_client: bc.BrokerClient, secure_topic: str
) -> None:
    assert right_client.is_connected
    body = f"over TLS, signed, from Python {time.time_ns()}".encode()
    mq = bc.MessageQueue(secure_topic, queue_id=1)
    r = right_client.sync_send_message("py_sec_pg", body, mq, {"k": "v"}, tags="secure")
    assert r.status == bc.SendStatus.SEND_OK and r.queue_id == 1 and r.msg_id
    pulled = _pull_found(right_client, secure_topic, 1, r.queue_offset)
    m = pulled.messages[0]
    assert (m.body, m.topic, m.tags, m.msg_id, m.queue_offset) == (
        body,
        secure_topic,
        "secure",
        r.msg_id,
        r.queue_offset,
    )
    assert right_client.get_max_offset(secure_topic, 1) == r.queue_offset + 1


def test_secure_async_client_signs_over_verified_tls(secure: Secure, secure_topic: str) -> None:
    async def main() -> None:
        opts = {"connect.timeout.ms": 10000, **secure.right()}
        async with bc.create_async_broker_client(broker_addr(), timeout=15, **opts) as c:
            mq = bc.MessageQueue(secure_topic, queue_id=2)
            r = await c.sync_send_message("py_sec_pg", b"async, over TLS", mq)
            assert r.status == bc.SendStatus.SEND_OK and r.queue_id == 2
            for _ in range(10):
                pulled = await c.pull_message(
                    "py_sec_cg", secure_topic, 2, r.queue_offset, 32, suspend_timeout=3.0
                )
                if pulled.status == bc.PullStatus.FOUND:
                    break
            assert pulled.status == bc.PullStatus.FOUND
            assert pulled.messages[0].body == b"async, over TLS"

    asyncio.run(main())


@pytest.mark.parametrize("case", ["wrong secret", "unknown access key", "no keys"])
def test_secure_acl_refusals_are_authorization_errors(
    secure: Secure, secure_topic: str, case: str
) -> None:
    opts = {
        "wrong secret": secure.verified(secure.access_key, secure.wrong),
        "unknown access key": secure.verified("bc-no-such-user", secure.secret),
        "no keys": secure.verified(),
    }[case]
    c = secure.client(opts)
    try:
        with pytest.raises(bc.AuthorizationError) as info:
            c.sync_send_message("py_sec_pg", b"refused", bc.MessageQueue(secure_topic, queue_id=0))
    finally:
        c.close()
    e = info.value
    assert e.status == AUTHORIZATION, e.status_name
    # 5.x (ACL 2.0): NO_PERMISSION 16; 4.x (ACL 1.0): SYSTEM_ERROR 1 with AclException.
    assert e.code == 16 or (e.code == 1 and "AclException" in (e.remark or "")), (e.code, e.remark)
    assert not e.retriable
    secure.assert_no_secret("the error", f"{e} {e.remark} {e!r}")


def test_secure_no_client_certificate_is_a_connection_error(
    secure: Secure, secure_topic: str
) -> None:
    # TLS 1.3: the client finishes its side of the handshake before the broker checks the
    # client certificate, so the refusal (an alert, then close) reaches the first request.
    c = secure.client(
        {
            "acl.access.key": secure.access_key,
            "acl.secret.key": secure.secret,
            "tls.ca.file": secure.ca,
        }
    )
    try:
        with pytest.raises(bc.BrokerConnectionError) as info:
            mq = bc.MessageQueue(secure_topic, queue_id=0)
            c.sync_send_message("py_sec_pg", b"no client certificate", mq)
    finally:
        c.close()
    assert info.value.status == CONNECTION, info.value.status_name


@pytest.mark.parametrize("case", ["platform trust store", "another CA"])
def test_secure_untrusted_ca_is_a_connection_error(secure: Secure, case: str) -> None:
    opts: Dict[str, Any] = {
        "acl.access.key": secure.access_key,
        "acl.secret.key": secure.secret,
        "tls.cert.file": secure.cert,
        "tls.key.file": secure.key,
    }
    if case == "platform trust store":
        opts["tls.enable"] = "true"  # no tls.ca.file, no tls.insecure
    else:
        opts["tls.ca.file"] = secure.other_ca
    c = secure.client(opts)
    try:
        with pytest.raises(bc.BrokerConnectionError) as info:
            c.connect()
        assert not c.is_connected
    finally:
        c.close()
    e = info.value
    assert e.status == CONNECTION, e.status_name
    assert "TLS handshake failed" in str(e) and "UnknownIssuer" in str(e), str(e)


def test_secure_insecure_opt_out_connects(secure: Secure, secure_topic: str) -> None:
    opts = {**secure.right(), "tls.ca.file": secure.other_ca, "tls.insecure": "true"}
    with secure.client(opts) as c:
        assert c.get_max_offset(secure_topic, 0) >= 0
