"""Session-wide fixtures: the two real local services every integration test talks to.

moto's Cognito server and the Okta emulator each start once per session on loopback;
tests get fresh tenants on them (unique ids, since moto's state is per process).
"""

from collections.abc import Iterator

import pytest
from builders import HASHER

from auditor.collect.secrets import SecretHasher
from auditor.config import ALLOW_HTTP_LOOPBACK_ENV
from auditor.demo import Fleet
from auditor.emulator.cognito import MotoCognito
from auditor.emulator.okta import OktaEmulator, OktaOrg, compliant_org
from auditor.logs import teardown_logging


@pytest.fixture(autouse=True)
def _logging_set_up_by_a_test_ends_with_it() -> Iterator[None]:
    """In-process CLI runs set up logging; the next test starts without their handler."""
    yield
    teardown_logging()


@pytest.fixture(scope="session")
def moto_cognito() -> Iterator[MotoCognito]:
    """The moto server on 127.0.0.1 and a free port, shared by the session's tests."""
    with MotoCognito() as server:
        yield server


@pytest.fixture
def cognito_env(moto_cognito: MotoCognito, monkeypatch: pytest.MonkeyPatch) -> MotoCognito:
    """Point boto3 at moto for one test: endpoint, fake credentials, no ~/.aws files."""
    for name, value in moto_cognito.env().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return moto_cognito


@pytest.fixture(scope="session")
def okta_emulator() -> Iterator[OktaEmulator]:
    """The Okta emulator's server thread, shared by the session's tests."""
    with OktaEmulator() as emulator:
        yield emulator


@pytest.fixture
def okta_org(okta_emulator: OktaEmulator) -> Iterator[OktaOrg]:
    """A fresh compliant org named "acme" on its own port, closed after the test."""
    org = okta_emulator.add_org(compliant_org("acme"))
    yield org
    okta_emulator.remove_org(org)


@pytest.fixture
def fleet(
    okta_emulator: OktaEmulator, cognito_env: MotoCognito, monkeypatch: pytest.MonkeyPatch
) -> Fleet:
    """An empty fleet on the session's emulators; boto3 and http on loopback point at them."""
    monkeypatch.setenv(ALLOW_HTTP_LOOPBACK_ENV, "1")
    return Fleet(okta=okta_emulator, cognito=cognito_env, base_domain="rapticore.io", tenants=[])


@pytest.fixture
def hasher() -> SecretHasher:
    """The tests' one secret hasher (fixed key, so builders' digests match collected ones)."""
    return HASHER
