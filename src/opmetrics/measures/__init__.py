"""The measures of design §5: the counting rules, as engine-neutral expressions."""
