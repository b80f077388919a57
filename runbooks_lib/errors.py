"""Errors that reach the user as one clear line (exit code 2), never as a traceback."""


class InputError(Exception):
    """Unusable input: the message names the file or object and what is wrong."""

    exit_code = 2
