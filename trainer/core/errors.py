"""The one exception type the command line turns into a one-line message and exit code 2."""


class TexinrError(ValueError):
    """Bad input the user can fix: a missing or corrupt file, an absurd hyperparameter, an unknown option."""
