"""Errors a user sees. Messages are Russian; the CLI prints them without a traceback."""


class MsokoError(Exception):
    """An error caused by input or configuration that the user can fix.

    The message must be in Russian and name the file (and row/column where known).
    """
