"""The domain core: rules, parsing and named states, with no I/O and no Qt."""
