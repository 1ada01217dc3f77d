"""Excel in and out: importing existing ledgers, exporting the district ledger layout.

Qt-free: ``reader`` reads .xlsx/.xls/.csv into plain rows, ``mapping`` finds the header
and proposes which column holds which field, ``importer`` validates and writes demands,
``exporter`` writes the district ledger, the 一村一档 workbook and the ledger view.
``commands`` adds ``import-ledger`` and ``export-ledger`` to the command line.
"""
