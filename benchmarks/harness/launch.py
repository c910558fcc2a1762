"""The measuring launcher of benchmarks.harness.child: `python -m benchmarks.harness.launch USAGE_JSON -- COMMAND...`
runs COMMAND, writes its resource usage (from wait4) to USAGE_JSON and exits with its status."""

from __future__ import annotations

import json
import os
import sys

USAGE = "usage: python -m benchmarks.harness.launch USAGE_JSON -- COMMAND..."


def main() -> None:
    if {"-h", "--help"} & set(sys.argv[1:2]):
        print(__doc__)
        return
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(USAGE)
    usage_file, command = sys.argv[1], sys.argv[3:]
    pid = os.posix_spawnp(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    record = {"user_s": usage.ru_utime, "sys_s": usage.ru_stime, "peak_rss_kib": usage.ru_maxrss,
              "minor_faults": usage.ru_minflt}  # fmt: skip
    with open(usage_file, "w") as out:
        json.dump(record, out)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
