"""otpsync: everything but the UI — the pure core (``daemon.core``) and the service around it.

Not PyPI's python-daemon, which also installs a module called ``daemon``: otpsync never depends
on it, and the two cannot be installed into the same environment.
"""

__version__ = "0.1.0"
