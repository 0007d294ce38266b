"""Print the directory under PREFIX (argv[1]) where this interpreter finds
packages, or nothing. Debian's python3 looks in /usr/local/lib/python3.X/
dist-packages, not in the /usr/local/lib/python3/dist-packages meson would
pick for that prefix."""
import os
import sys

prefix = os.path.abspath(sys.argv[1])
for p in sys.path:
    rest = p[len(prefix) + 1:] if p.startswith(prefix + os.sep) else ""
    if rest.startswith("lib") and p.endswith(("dist-packages", "site-packages")):
        print(p)
        break
