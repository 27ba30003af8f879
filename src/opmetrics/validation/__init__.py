"""Validation (design §3): every input row accepted or quarantined with a reason, on the engine.

It sits above the engine and below the measures: `contract/` says what a valid row is (table
specs, row rules, reading files), the engine runs it, and this package turns a data dir into
accepted tables, counts that reconcile and the quarantine.
"""
