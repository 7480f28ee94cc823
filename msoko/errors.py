"""Errors a user sees. Messages are Russian; the CLI prints them without a traceback."""


class MsokoError(Exception):
    """An error caused by input or configuration that the user can fix.

    The message must be in Russian and name the file (and row/column where known).
    """


class OutputError(MsokoError):
    """A folder msoko writes to cannot be written: the disk is full, it is read-only, no permission.

    Not the input's fault and not msoko's: the message names the folder and what to do.
    """
