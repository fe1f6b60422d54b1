"""placeholder"""


class AnimationError(ValueError):
    """x"""


def write_animation(*a, **k):
    raise AnimationError("not yet")
