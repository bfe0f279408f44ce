"""The browser tests' tools are required in CI: without axe-core (or Chromium) a test
fails there instead of being skipped, and says how to install it."""

import pytest

from tests import services


def test_a_missing_axe_core_fails_in_ci_and_skips_locally(monkeypatch, tmp_path):
    monkeypatch.setenv("AXE_CORE_PATH", str(tmp_path / "nowhere" / "axe.min.js"))
    monkeypatch.setattr(services, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="npm install --prefix var/node axe-core@4"):
        services.axe_source()
    monkeypatch.setattr(services, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception):
        services.axe_source()


def test_axe_core_is_read_from_the_given_path(monkeypatch, tmp_path):
    engine = tmp_path / "axe.min.js"
    engine.write_text("window.axe = {};")
    monkeypatch.setenv("AXE_CORE_PATH", str(engine))
    assert services.axe_source() == "window.axe = {};"
