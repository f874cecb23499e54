"""The component registry is the one list of components: everything it names exists where it says."""

from __future__ import annotations

import pytest
import yaml

from stackkit import components
from stackkit.errors import UsageError
from stackkit.settings import HOST_PORT_SETTINGS, REPO_ROOT, SPECS_BY_NAME


@pytest.mark.parametrize("component", components.ALL, ids=components.NAMES)
def test_each_entry_points_at_real_files_and_settings(component: components.Component) -> None:
    compose = yaml.safe_load((REPO_ROOT / component.compose_file).read_text())
    assert component.compose_service in compose["services"]
    for name in (*component.port_settings, component.url_port_setting, component.image_setting):
        assert name in SPECS_BY_NAME, name
    assert component.url_port_setting in component.port_settings
    if component.version_setting:
        assert component.version_setting in SPECS_BY_NAME


def test_every_host_port_belongs_to_exactly_one_component() -> None:
    owned = [name for component in components.ALL for name in component.port_settings]
    assert sorted(owned) == sorted(HOST_PORT_SETTINGS)


def test_phoenix_comes_first_and_its_senders_after_it() -> None:
    assert components.ALL[0] is components.PHOENIX
    assert all(components.NAMES.index(sender.name) > 0 for sender in components.senders())


def test_unknown_component_is_a_usage_error_naming_the_choices() -> None:
    with pytest.raises(UsageError, match="unknown component 'phenix': choose from phoenix, alloy, ai-demo"):
        components.get("phenix")
