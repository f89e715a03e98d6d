"""Open-loop HTTP load for `attnlab serve` (Python standard library only).

Usage: load_serve.py URL BODIES.jsonl RATE CONCURRENCY SECONDS

Requests are scheduled at RATE per second (0: as fast as CONCURRENCY
connections go, closed loop); latency is measured from each request's
*scheduled* time, so a server that falls behind shows it (no coordinated
omission). Prints one JSON line: sent, errors, achieved rate, p50/p90/p99/
p99.9 latency in milliseconds.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def main():
    url, bodies_path, rate, conc, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    parts = urllib.parse.urlsplit(url)
    bodies = [line.strip().encode() for line in open(bodies_path) if line.strip()]
    total = int(rate * seconds) if rate > 0 else None
    lock = threading.Lock()
    state = {"next": 0}
    latencies, errors = [], [0]
    start = time.perf_counter() + 0.2
    deadline = start + seconds

    def worker():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine = []
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if total is not None:
                if i >= total:
                    break
                scheduled = start + i / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            else:
                scheduled = time.perf_counter()
                if scheduled >= deadline:
                    break
            try:
                conn.request("POST", parts.path, body=bodies[i % len(bodies)], headers={"content-type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except OSError:
                ok = False
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            done = time.perf_counter()
            if ok:
                mine.append(done - scheduled)
            else:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies.sort()

    def q(p):
        return round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 3) if latencies else None

    print(json.dumps({"sent": len(latencies) + errors[0], "errors": errors[0], "rps": round(len(latencies) / elapsed, 1),
                      "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p999": q(0.999)}))


if __name__ == "__main__":
    main()
