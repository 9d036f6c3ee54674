"""Typed exceptions: library code raises these, the CLI turns them into one-line messages."""


class DatadistillError(Exception):
    """Base class of every error the library raises on purpose (message = problem and fix)."""


class DataError(DatadistillError):
    """A dataset is missing, corrupt or does not match what the loader expects."""


class ConfigError(DatadistillError, ValueError):
    """A setting is unknown or out of range."""


class ArtifactError(DatadistillError):
    """A distilled-set file or run folder cannot be read or does not match."""
