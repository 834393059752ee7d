"""What the gate settles before any number: did the two sides measure the same thing (suite, data, number of
examples), did a cell stop working (its status), and were they measured on the same machine."""
from __future__ import annotations

OK = "ok"


def number(value) -> float | None:
    """A record's number as a float (NaN and inf included: the gate calls those out); None when not a number."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def status(rec: dict) -> str:
    """A record's status; records of old versions without one were written only for finished cells."""
    return str(rec.get("status") or OK)


def status_change(cell: str, old: dict, new: dict) -> tuple[str, str, str, str]:
    """(cell, old, new, verdict): ok -> any other status (error, oom, timeout, skipped, unsupported, diverged,
    ...) is a regression on any machine — a cell that no longer measures can't be let through; not ok -> ok
    is an improvement; one failure for another is a warning."""
    was, now = status(old), status(new)
    verdict = "regression" if was == OK else "improved" if now == OK else "warning"
    return cell, was, now, verdict


def suite_name(rec: dict, side_suite: str | None) -> str | None:
    return rec.get("suite") or side_suite


def suite_mismatches(pairs: set[tuple[str | None, str | None]]) -> list[str]:
    """One line per distinct (baseline suite, new suite) pair that differs; a side without a name is not checked."""
    return [f"suite differs: baseline '{a}', new '{b}' (different suites: their cells measure different things)"
            for a, b in sorted(pairs, key=str) if a and b and a != b]


def identity_mismatch(cell: str, old: dict, new: dict, missing: list[str]) -> str | None:
    """A quality cell measured on other data: `data_sha256` (the split's examples) or `n_eval` differ. The
    line names both sides; None when they agree. A side without `data_sha256` (an older record) appends the
    cell to `missing` (a warning: the data can't be checked)."""
    if old.get("kind") != "quality":
        return None
    differ = []
    a, b = old.get("data_sha256"), new.get("data_sha256")
    if a and b and a != b:
        differ.append(f"data_sha256 {str(a)[:12]} -> {str(b)[:12]}")
    elif not (a and b):
        missing.append(cell)
    n_a, n_b = number(old.get("n_eval")), number(new.get("n_eval"))
    if n_a is not None and n_b is not None and n_a != n_b:
        differ.append(f"n_eval {int(n_a)} -> {int(n_b)}")
    return f"{cell}: measured other data ({'; '.join(differ)})" if differ else None


def missing_identity_note(cells: list[str]) -> str | None:
    if not cells:
        return None
    head = ", ".join(cells[:3]) + (f" and {len(cells) - 3} more" if len(cells) > 3 else "")
    return (f"{len(cells)} quality cell(s) without data_sha256 on one side (older records): their data is not "
            f"checked ({head})")


def machine_note(base: dict, new: dict, warnings: list[str]) -> bool:
    """Whether the machine fingerprints differ; a warning line says how (or that one side has none)."""
    differ = [f"{k} {base[k]!r} -> {new[k]!r}" for k in base
              if base.get(k) is not None and new.get(k) is not None and str(base[k]) != str(new[k])]
    if differ:
        warnings.append(f"different machine ({'; '.join(differ)}): perf timing regressions are reported as "
                        "warnings (cost figures and quality are still gated)")
    elif not any(base.values()) or not any(new.values()):
        warnings.append("machine fingerprint unknown on one side: perf numbers are compared as if on one machine")
    return bool(differ)
