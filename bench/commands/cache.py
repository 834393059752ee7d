"""`nlpbench cache info|clean`: the cache folder nlpbench keeps (nlpbench.data.cache) — where, how big, emptied.

`clean` removes only what nlpbench put there (parsed data files, the fingerprint shortcut), so a cache
folder a user pointed at something shared loses nothing else; the next run parses its files again.
"""
from __future__ import annotations


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def cmd_cache(args) -> int:
    from nlpbench.data import cache

    where = cache.configured_root()
    if args.action == "clean":
        print(f"removed {_size(cache.clean(where))} from {where}")
        return 0
    usage = cache.usage(where)
    state = ""
    if not where.is_dir():
        state = "; not created yet"
    elif not cache.writable(where):
        state = "; not writable: runs cache in a temporary folder removed when they exit"
    print(f"cache folder: {where} (set ${cache.ENV} to move it){state}")
    print(f"parsed data files: {usage[cache.TABLES][0]} ({_size(usage[cache.TABLES][1])})")
    print(f"fingerprints of large files: {_size(usage[cache.FINGERPRINTS][1])}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("cache", help="show or empty nlpbench's cache folder (parsed data files)")
    p.add_argument("action", choices=["info", "clean"])
    p.set_defaults(func=cmd_cache)
