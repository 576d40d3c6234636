"""The notify exception tree."""

from __future__ import annotations


class NotifyError(Exception):
    """Base of every error raised by notify."""


class TemplateError(NotifyError):
    """A message template is missing or lacks a parameter."""


class TokenError(NotifyError):
    """A reply link is malformed, forged or expired."""


class SignatureError(NotifyError):
    """A webhook's signature or timestamp does not verify."""


class NotFoundError(NotifyError):
    """A notice, delivery or contact does not exist."""
