"""Errors the CLI and the API turn into one-line messages."""


class InputError(ValueError):
    """Bad input from the caller (empty question, bad date, ...). CLI exit code 2."""


class IndexCorruptError(RuntimeError):
    """The index directory cannot be read."""

    def __init__(self, path: object, cause: object) -> None:
        super().__init__(
            f"the index at {path} is unreadable ({cause}); run `assistant index --rebuild` to repair it"
        )


class CorpusError(RuntimeError):
    """The corpus or code table failed its checks; nothing half-valid is indexed."""


class ModelUnavailableError(RuntimeError):
    """The configured chat model cannot be loaded."""
