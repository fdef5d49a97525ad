"""Exporters: our Accounts → files other authenticator apps (or a phone's camera) read.

Pure, like the importers: accounts (and a password, for an encrypted vault) in, bytes out; no
file or network I/O, nothing printed or logged. Writing the bytes (mode 0600, never over an
existing file) and warning that an export is unencrypted is the caller's job.

- ``otpauth.uri_list``: one ``otpauth://`` URI per line (Google's Key Uri Format).
- ``aegis.plain`` / ``aegis.encrypted``: an Aegis vault, as Aegis itself writes one.
- ``qr.png`` / ``qr.file_name``: one labelled QR code per account, to scan with a phone.

Every format here reads back through ``daemon.importers`` to the same codes; the tests check it.
"""
