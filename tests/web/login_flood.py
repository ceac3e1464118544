"""An attacker posting logins (issue 28 item 7), run as a process of its own so that its
threads do not share the measuring test's interpreter (and its GIL).

    python login_flood.py PORT THREADS MODE

MODE ``many``: each attempt from a fresh loopback address (127.0.x.y, as a network with
many addresses — IPv6 — can) and a fresh account name, so no throttle ever spares the server
its argon2 check; ``one``: every attempt from 127.0.0.9. Reads ``go`` / ``seen`` / ``stop`` lines on
stdin; after each ``seen`` prints how many attempts were answered so far, after each ``stop``
one JSON line: the answers by status and the Retry-After values seen. Ends at end of input.
"""

from __future__ import annotations

import http.client
import itertools
import json
import sys
import threading
from collections import Counter

CSRF = "flood-flood-flood"  # double submit: the attacker sets the cookie himself


def main() -> None:
    port, threads, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    running = threading.Event()
    ending = threading.Event()
    lock = threading.Lock()
    answers: Counter[int] = Counter()
    retry: list[str] = []
    numbers = itertools.count(1)

    def attack() -> None:
        while not ending.is_set():
            if not running.wait(0.2):
                continue
            n = next(numbers)
            source = f"127.0.{1 + n // 250 % 250}.{1 + n % 250}" if mode == "many" \
                else "127.0.0.9"
            name = f"nikt{n}" if mode == "many" else "admin"
            body = f"username={name}&password=zgadywane-haslo-{n}&csrf={CSRF}&next=/"
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60,
                                              source_address=(source, 0))
            try:
                conn.request("POST", "/login", body=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": f"kustosz_pre={CSRF}"})
                r = conn.getresponse()
                r.read()
                with lock:
                    answers[r.status] += 1
                    if r.getheader("Retry-After"):
                        retry.append(r.getheader("Retry-After") or "")
            except OSError:
                with lock:
                    answers[0] += 1
            finally:
                conn.close()

    workers = [threading.Thread(target=attack, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    for line in sys.stdin:
        if line.strip() == "go":
            running.set()
        elif line.strip() == "seen":  # how many attempts were answered since the last stop
            with lock:
                print(json.dumps(sum(answers.values())), flush=True)
        elif line.strip() == "stop":
            running.clear()
            with lock:
                print(json.dumps({"answers": dict(answers), "retry_after": retry}),
                      flush=True)
                answers.clear()
                retry.clear()
    ending.set()


if __name__ == "__main__":
    main()
