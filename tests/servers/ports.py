"""Free TCP ports on 127.0.0.1 for the test servers."""

import socket


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    The kernel picks it (bind to port 0); the socket is closed before the server binds, so a tiny race
    remains, which is why every server here listens on 127.0.0.1 only and fails loudly on a clash.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
