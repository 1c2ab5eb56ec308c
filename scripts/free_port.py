"""Prints a TCP port that is free on 127.0.0.1 now (for moto, cargo lambda watch, ...)."""
import socket

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
