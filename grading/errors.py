"""The one exception the command line turns into a one-line reason."""


class TinymlError(Exception):
    """A failure the user can act on; its message says what was wrong and what to do."""
