"""A tiny TCP echo service for `grace-tui drill` and the tests (stdlib only, run as a script).

Usage: python echo.py PORT [--crash-after SECONDS] [--backlog N]
Each connection first gets "PID <pid>\n", then its input echoed back.
"""

import os
import socket
import sys
import threading
import time


def _serve(conn: socket.socket) -> None:
    with conn:
        try:
            conn.sendall(b"PID %d\n" % os.getpid())
            while data := conn.recv(4096):
                conn.sendall(data)
        except OSError:
            pass


def main() -> None:
    port = int(sys.argv[1])
    if "--crash-after" in sys.argv:
        delay = float(sys.argv[sys.argv.index("--crash-after") + 1])
        threading.Timer(delay, os._exit, args=(1,)).start()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    backlog = int(sys.argv[sys.argv.index("--backlog") + 1]) if "--backlog" in sys.argv else 64
    srv.listen(backlog)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=_serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    time.sleep(0)
    main()
