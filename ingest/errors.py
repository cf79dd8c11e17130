"""The errors askpapers raises for a caller's mistake (both halves raise them, so they live here)."""

from __future__ import annotations


class AskpapersInputError(ValueError, TypeError):
    """A bad argument from a caller (CLI flag, API argument, page control): one-line message.

    It is both a ValueError and a TypeError, so code that catches either (the usual Python
    conventions for bad values and bad types) catches it. Exported as `assistant.AskpapersInputError`;
    it lives in `ingest` because the index half must not import `assistant`.
    """


class SettingError(AskpapersInputError):
    """A setting with a bad value: "ASKPAPERS_TOP_K: must be ≥ 1 (got -3)".

    `name` is how the setting was given (the environment variable, the keyword argument, or the
    CLI flag once `renamed`), `field` the `Settings` field, `problem` what is wrong with it.
    """

    def __init__(self, name: str, problem: str, field: str | None = None) -> None:
        super().__init__(f"{name}: {problem}")
        self.name, self.problem, self.field = name, problem, field

    def renamed(self, name: str) -> "SettingError":
        return SettingError(name, self.problem, self.field)
