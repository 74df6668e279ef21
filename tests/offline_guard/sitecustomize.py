"""Loaded first by a test subprocess: refuses every connection that would leave loopback and
records the attempt, so the test can prove that local backends open no outside socket."""
import ipaddress
import os
import socket

LOG = os.environ["PORTALIT_GUARD_LOG"]
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


def _record(what):
    with open(LOG, "a") as f:
        f.write(f"{what}\n")


def _loopback(host) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
        _record(f"connect {address}")
        raise ConnectionRefusedError(f"offline guard: refused {address}")


def connect(self, address):
    _check(self, address)
    return _connect(self, address)


def connect_ex(self, address):
    _check(self, address)
    return _connect_ex(self, address)


def _literal_ip(host) -> bool:
    try:
        ipaddress.ip_address(str(host).split("%")[0])
        return True
    except ValueError:
        return False


def getaddrinfo(host, *args, **kwargs):
    host_text = host.decode() if isinstance(host, bytes) else host
    if not _loopback(host_text) and not _literal_ip(host_text):  # a literal IP needs no lookup
        _record(f"resolve {host}")
        raise socket.gaierror(f"offline guard: refused to resolve {host}")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
