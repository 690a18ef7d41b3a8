"""The one exception type a command turns into a one-line message (no traceback)."""


class UserError(Exception):
    """Something the user can fix: a missing file, a wrong format, a mismatched checkpoint.

    The message says what is wrong and what to do, in one line.
    """
