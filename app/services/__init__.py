"""Qt-free domain operations shared by the command line, the GUI and the tests.

Each function takes a SQLAlchemy session (and, for changes, the acting user), checks
the user's role, and either finishes its work or raises a DomainError; the caller's
``Database.write()`` block makes the whole operation one transaction.
"""
