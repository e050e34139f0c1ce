"""Loaded by every Python process whose PYTHONPATH includes this folder: no network but loopback."""

import ipaddress
import socket

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


def _is_local(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if not isinstance(host, str) or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost would need DNS


def _guarded(real):
    def connect(self, address):
        if self.family != socket.AF_UNIX and not _is_local(address):
            raise OSError(f"network disabled by tests/netguard: {address!r}")
        return real(self, address)

    return connect


def _getaddrinfo_local(host, *args, **kwargs):
    if host is not None and not _is_local((host,)):
        raise socket.gaierror(f"network disabled by tests/netguard: {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded(_connect)
socket.socket.connect_ex = _guarded(_connect_ex)
socket.getaddrinfo = _getaddrinfo_local
