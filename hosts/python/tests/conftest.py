import pytest

import membudget as mb


def one_gib(**kwargs):
    """A 1 GiB TaskManager runtime, container ignored."""
    props = {"taskmanager.memory.process.size": "1g"}
    props.update(kwargs.pop("extra", {}))
    return mb.MemBudget(props, ignore_container=True, **kwargs)


@pytest.fixture
def budget():
    with one_gib() as b:
        yield b
