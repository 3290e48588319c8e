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


class ChromaServerError(RuntimeError):
    """The Chroma server named by ASSISTANT_CHROMA_URL cannot be reached."""

    def __init__(self, url: str, cause: object) -> None:
        super().__init__(
            f"the Chroma server at {url} (ASSISTANT_CHROMA_URL) cannot be reached ({cause}); start it, "
            "correct ASSISTANT_CHROMA_URL, or unset it to use the local index"
        )


class ConfigError(ValueError):
    """A setting read from the environment is invalid; the message names the variable."""
class DatabaseError(RuntimeError):
    """The store's database (ASSISTANT_DATABASE_URL) cannot be reached or has a schema this version cannot use."""
