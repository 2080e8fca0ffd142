"""Kill and restart the test MongoDB server under load, N times, and print what happened.

    python -m tests.fault_cycles --cycles 50 [--down 2.0]

The long version of ``tests/test_recovery.py``: one real ``omnigw serve`` process (2 s request
deadline), 6 readers and 2 writers, ``/readyz`` polled every 100 ms. For each cycle it prints
how long after the server was back (with its data) the gateway was ready and answering reads
and writes, the cycle's longest request and how its requests ended; then how long SIGTERM
took. Exit status 1 if a cycle did not recover within 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tests.support.faults import RECOVERY_LIMIT, Drill, restart_cycle


async def main(cycles: int, down: float) -> int:
    drill = Drill()
    failed = False
    try:
        await drill.start_database()
        await drill.start_gateway()
        async with drill.load():
            await asyncio.sleep(1.0)
            for n in range(1, cycles + 1):
                cycle = await restart_cycle(drill, down=down)
                if cycle.recovered is None:
                    print(f"cycle {n}: NOT recovered within {RECOVERY_LIMIT:.0f} s; "
                          f"longest request {cycle.longest:.2f} s; {cycle.results}\n"
                          f"{drill.log_tail()}", flush=True)
                    failed = True
                    break
                print(f"cycle {n}: recovered in {cycle.recovered:.2f} s; longest request "
                      f"{cycle.longest:.2f} s; {cycle.results}", flush=True)
                await asyncio.sleep(1.0)
        print(f"SIGTERM: exited after {await drill.terminate_gateway():.2f} s", flush=True)
    finally:
        await drill.close()
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--down", type=float, default=2.0, help="seconds the server stays down")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.cycles, args.down)))
