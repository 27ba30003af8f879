"""The month's review file: the reviewers' commentary, the reviewed ad-hoc list, the OPSG
meeting and its actions (docs/review.md). `model` reads and checks it, `write` writes it."""
