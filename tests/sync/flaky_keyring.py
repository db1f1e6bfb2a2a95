"""A keyring that works but refuses to store a device token while a marker file exists.

It is the file keyring the tests use (keyrings.alt) with one fault injected at the one
moment a real keyring can fail that no probe can foresee: after the server answered.
Select it with PYTHON_KEYRING_BACKEND=flaky_keyring.TokenRefusingKeyring (tests/sync on
PYTHONPATH) and REFUSE_TOKENS_WHILE=<marker file>.
"""

import os

from keyring.errors import PasswordSetError
from keyrings.alt.file import PlaintextKeyring


class TokenRefusingKeyring(PlaintextKeyring):
    def set_password(self, service, username, password):
        marker = os.environ.get("REFUSE_TOKENS_WHILE", "")
        if username.startswith("device-token") and marker and os.path.exists(marker):
            raise PasswordSetError("schijf van de sleutelbos is vol")
        super().set_password(service, username, password)
