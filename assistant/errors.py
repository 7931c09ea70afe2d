"""Errors a user can cause. Each carries a one-line message meant for people, not a traceback."""


class BiganError(Exception):
    """A problem the user can fix (bad input, missing model, no KB yet)."""


class ModelMissingError(BiganError):
    pass


class KBMissingError(BiganError):
    pass
