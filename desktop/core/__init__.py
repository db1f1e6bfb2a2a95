"""The domain core: identifiers, bundles, eligibility rules, input parsing, handout content,
named states.

No I/O and no Qt (the one file it reads is the UZOVI table shipped as package data), so
the window, the CLI, the tests and the central server all run the same rules; the server
imports this package for its own checks and nothing else of `desktop`.
"""
