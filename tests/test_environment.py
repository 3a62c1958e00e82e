"""The conda environment file carries exactly the pip pins of requirements.lock."""

from pathlib import Path

from sipas import envpins

REPO = Path(__file__).resolve().parent.parent


def test_environment_yml_matches_lock():
    diff = envpins.compare(REPO / "requirements.lock", REPO / "environment.yml")
    assert diff == {}, f"environment.yml and requirements.lock disagree: {diff}"


def test_lock_pins_every_direct_dependency():
    import tomllib

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = envpins.read_pins(REPO / "requirements.lock")
    missing = [d for d in deps if envpins._norm(d) not in pins]
    assert missing == []


def test_compare_detects_a_difference(tmp_path):
    lock = tmp_path / "requirements.lock"
    env = tmp_path / "environment.yml"
    lock.write_text("numpy==2.0.0\npandas==3.0.0\n")
    env.write_text(envpins.render_environment(lock).replace("pandas==3.0.0", "pandas==2.9.0"))
    assert envpins.compare(lock, env) == {"pandas": ("3.0.0", "2.9.0")}
