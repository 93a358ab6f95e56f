"""Errors that reach the user as one line on stderr and a non-zero exit code."""


class UserError(Exception):
    """Bad input or an unusable environment: printed as one line, never a traceback."""

    exit_code = 1


class ConfigError(UserError):
    """A config file that does not validate; the message names FILE:LINE: field."""

    exit_code = 2


class UsageError(UserError):
    """The command line itself is wrong."""

    exit_code = 2
