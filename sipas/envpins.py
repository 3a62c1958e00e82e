"""Keep ``environment.yml`` (conda users) in step with ``requirements.lock`` (pip pins).

``python -m sipas.envpins write`` regenerates environment.yml from the lock;
``python -m sipas.envpins check`` exits 1 when they disagree (tests call :func:`compare`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from sipas.config import project_root

_PIN = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-\[\]]+)==([^\s#;]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: str | Path) -> dict[str, str]:
    """``name==version`` lines of a lock file or of environment.yml's pip section."""
    pins = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = _PIN.match(line)
        if m:
            pins[_norm(m.group(1))] = m.group(2)
    return pins


def render_environment(lock: str | Path) -> str:
    """environment.yml text carrying every pin of ``lock``."""
    pins = read_pins(lock)
    lines = ["# Conda environment for sipas: the same exact pins as requirements.lock (checked by tests).",
             "# Regenerate with: make lock", "name: sipas", "channels:", "  - conda-forge", "dependencies:",
             "  - python=3.11", "  - pip", "  - pip:"]
    lines += [f"      - {n}=={v}" for n, v in sorted(pins.items())]
    lines.append("      - -e .")
    return "\n".join(lines) + "\n"


def compare(lock: str | Path, env: str | Path) -> dict[str, tuple[str | None, str | None]]:
    """Packages whose pins differ: ``{name: (lock_version, env_version)}``."""
    a, b = read_pins(lock), read_pins(env)
    return {n: (a.get(n), b.get(n)) for n in sorted(set(a) | set(b)) if a.get(n) != b.get(n)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = project_root()
    lock, env = root / "requirements.lock", root / "environment.yml"
    if argv[:1] == ["write"]:
        from sipas.io import atomic_write_text

        atomic_write_text(env, render_environment(lock))
        print(f"wrote {env}")
        return 0
    diff = compare(lock, env)
    for n, (x, y) in diff.items():
        print(f"{n}: requirements.lock {x} != environment.yml {y}")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
