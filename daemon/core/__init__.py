"""The pure core: accounts, codes, the backup file format and merge.

Bytes and values in, values out. Nothing here touches the filesystem, the clock's side effects,
the network or the terminal, which keeps it fast to test and easy to trust.
"""
