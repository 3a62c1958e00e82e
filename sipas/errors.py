"""Typed exceptions shared by every sipas module.

Every error about user input names the file and, where it applies, the row
(1-based, as a spreadsheet shows it, counting the header as row 1) and the column.
"""

from __future__ import annotations

from pathlib import Path


class SipasError(Exception):
    """Base class of every error raised on purpose by sipas."""


class ConfigError(SipasError):
    """A survey configuration file is missing, malformed or inconsistent."""

    def __init__(self, message: str, *, file: str | Path | None = None, key: str | None = None) -> None:
        self.file = None if file is None else str(file)
        self.key = key
        where = ""
        if self.file:
            where += f"{self.file}"
        if key:
            where += f" [{key}]" if where else f"[{key}]"
        super().__init__(f"{where}: {message}" if where else message)


class InputError(SipasError):
    """A raw input file cannot be read or violates its declared format.

    Parameters
    ----------
    message:
        What is wrong, in plain words.
    file, row, column:
        Where it is. ``row`` counts as a spreadsheet does (header = row 1).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        parts = []
        if self.file is not None:
            parts.append(f"file {self.file}")
        if row is not None:
            parts.append(f"row {row}")
        if column is not None:
            parts.append(f"column {column!r}")
        prefix = ", ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class OutputError(SipasError):
    """An output file cannot be written (read-only folder, full disk, ...).

    Parameters
    ----------
    message:
        What went wrong, in plain words (the operating system's reason).
    path:
        The file or folder that could not be written.
    """

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(f"cannot write {self.path}: {message}" if self.path else message)


class StageInputMissing(SipasError):
    """A pipeline stage was run before the stage whose outputs it reads."""


class DesignError(SipasError):
    """A survey design is inconsistent (missing weights, bad strata, lonely PSUs...)."""


class EstimationError(SipasError):
    """An estimate cannot be computed from the given design and data."""


class ReliabilityError(SipasError):
    """A reliability or factor-analysis statistic cannot be computed from the given items
    (fewer than two items or respondents, an item without variance, a singular matrix...)."""


class LonelyPSUError(DesignError):
    """A stratum has a single primary sampling unit and ``lonely_psu="fail"`` was requested.

    Mirrors R's ``options(survey.lonely.psu = "fail")`` error
    ``Stratum (h) has only one PSU at stage s``.
    """

    def __init__(self, message: str, *, stratum: object = None, stage: int = 1) -> None:
        self.stratum = stratum
        self.stage = stage
        super().__init__(message)


class ConvergenceError(EstimationError):
    """An iterative weighting procedure (raking, bounded calibration) did not converge."""


class ReportError(SipasError):
    """The report cannot be rendered (notebook failure, PDF printing failure)."""
