"""Every error the product raises on purpose, under one root. Each message says in one line what went wrong and what
to do; the command line prints it so and exits 1. Anything else is a bug, and is shown as one."""


class HelicopterError(Exception):
    """The root: a condition the product knows and explains."""


class UsageError(HelicopterError, ValueError):
    """A command was called with arguments that do not go together."""


class SettingsError(HelicopterError, ValueError):
    """A setting from the environment has a value the product cannot use."""


class ContractError(HelicopterError, ValueError):
    """A contract (a table's, the taxonomy, the limit policy) is missing or inconsistent, or data does not fit the
    contract of the table it is written to."""


class LandingError(HelicopterError, ValueError):
    """The landing folder cannot be read as the contract says."""


class FileProblem(HelicopterError, ValueError):
    """One landing file cannot be read as its contract says; the message is its one-line quarantine reason."""


class PiiKeyError(HelicopterError):
    """No key to tokenise personal data with."""


class QualityGateError(HelicopterError):
    """A table-level expectation failed: the batch must not reach anything downstream."""


class BatchRefused(QualityGateError):
    """A source's batch was quarantined above INGEST_MAX_QUARANTINED_SHARE: its files stay out of the ledger, so the
    ingest fails again until they are fixed. `batches`: the counts of every batch of the run (dicts), refused or not."""

    def __init__(self, message: str, batches: list[dict] | None = None):
        super().__init__(message)
        self.batches = batches or []


class ReconciliationError(HelicopterError):
    """A batch's rows do not add up: what was read is not what was accepted, deduplicated and quarantined."""


class ConcurrentWriteError(HelicopterError):
    """Another writer kept committing to the same table first, attempt after attempt."""


class ModelError(HelicopterError):
    """Training or scoring cannot go on (no data, no model)."""


class ServingError(HelicopterError):
    """The serving store cannot do what was asked (nothing published, verification failed, ...)."""


class UnknownEntity(ServingError, LookupError):
    """No published limit for this entity id."""


class StepError(HelicopterError):
    """A pipeline step was asked for that does not exist, or failed in a process of its own (spark-submit)."""
