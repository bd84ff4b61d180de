"""wizard.stepnames: the leaf list of step names is the steps' own order."""

from wizard import stepnames, steps


def test_the_leaf_names_are_the_steps_in_order() -> None:
    assert stepnames.NAMES == steps.NAMES == tuple(s.name for s in steps.ALL)
