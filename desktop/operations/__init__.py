"""The only door the window (`desktop/ui`) and the command line (`desktop/cli.py`) use into
the local store, the sync engine and the predictors (tests/test_import_contract.py holds
them to it).

`services` (the service object of one session), `consultation` (one patient's
consultation), `register_file` (restore, key recovery, a new register: work on the file
itself), `failures` (the errors they raise), `prediction` (the model inputs the window
asks for) and `selftest` (the installation check). This package itself imports nothing,
so the window starts without loading the store.
"""
