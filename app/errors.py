"""Domain errors. Every message is Chinese and says what is wrong and what is needed."""

from __future__ import annotations


class DomainError(Exception):
    """A refused operation; ``str(err)`` is the message shown to the user."""


class PermissionDenied(DomainError):
    pass


class IllegalTransition(DomainError):
    pass


class ConflictError(DomainError):
    pass


class NotFound(DomainError):
    pass


class ValidationError(DomainError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}：{message}")
        self.field = field
        self.reason = message
