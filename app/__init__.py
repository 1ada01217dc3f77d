"""快处台账 (Kuaichu): the township fast-handling center's demand ledger."""

__version__ = "0.1.0"
APP_NAME = "kuaichu"
