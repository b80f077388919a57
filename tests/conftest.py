"""Guards shared by every test module."""

import os

import pytest

from runbooks_lib.redact import NO_REDACT_ENV


@pytest.fixture(autouse=True)
def redaction_setting_does_not_leak():
    """`runbooks --no-redact` sets an environment variable for its kernels; a test that runs it
    must restore it, or every later test would silently run with redaction off."""
    before = os.environ.get(NO_REDACT_ENV)
    yield
    assert os.environ.get(NO_REDACT_ENV) == before, f"this test left {NO_REDACT_ENV} changed"
