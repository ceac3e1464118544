#!/usr/bin/python3
"""Build the Debian package of Kustosz (`make deb`): plain dpkg-deb, no debhelper.

    /usr/bin/python3 packaging/deb/build.py [--out dist] [--version V]

Runs on Debian 12 (bookworm) with its own python3 (3.11): the package's virtual
environment under /opt/kustosz/.venv is made by that interpreter and links to it, so the
machine it is installed on needs the same Debian release (Depends: python3 (>= 3.11~),
python3 (<< 3.12)). Needs python3-venv and dpkg (dpkg-deb) only; the wheels come from pip's
configured index, exactly the versions of the lock file when there is one (docs/install.md,
"Why a plain dpkg-deb"). Nothing is downloaded when the package is installed or run.

The environment is built in a staging folder and then moved by rewriting the few places a
venv records its own path (script shebangs, bin/activate*, pyvenv.cfg); the byte-code is
compiled with the installed path recorded, so tracebacks name /opt/kustosz/… files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SYSTEMD = REPO / "deploy" / "systemd"
PREFIX = "/opt/kustosz"
VENV = f"{PREFIX}/.venv"  # the path deploy/systemd's units and the README name
PYTHON = "/usr/bin/python3"  # Debian's own: the venv links to it
# Lock files, first found wins: hashed pip-tools output, or uv's lock exported through uv.
LOCKS = ("requirements.lock", "requirements/lock.txt", "requirements.txt")
# Migration revisions that must not run before a fresh backup exists (preinst refuses the
# upgrade until one does; docs/install.md, "Upgrading"). One revision a line, # comments.
NEEDS_BACKUP = HERE / "needs-backup"
DEPENDS = [
    "python3 (>= 3.11~)",
    "python3 (<< 3.12)",
    # opencv-python's wheel links to these two; the rest of the native code is in the wheels
    "libgl1",
    "libglib2.0-0",
    "fonts-dejavu-core",  # ffmpeg's drawtext in playable copies (custody/playable.py)
    "util-linux",  # runuser: /usr/bin/kustosz runs commands as the account kustosz
    "passwd",  # useradd/groupadd when systemd-sysusers is absent
]
RECOMMENDS = ["systemd", "postgresql-client"]  # pg_dump: backups of a PostgreSQL vault


def run(*cmd: str | Path, **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(map(str, cmd)), flush=True)
    # The package's venv is built from the lock and the wheel alone: a caller's PYTHONPATH
    # (a checkout's src/ with its egg-info) made pip take kustosz as installed already, and
    # the venv was left without it.
    kw.setdefault("env", {k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def check_host() -> None:
    if not Path(PYTHON).exists():
        sys.exit(f"{PYTHON} is missing: build on Debian 12 (apt-get install python3-venv)")
    version = subprocess.run(
        [PYTHON, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if version != "(3, 11)":
        sys.exit(
            f"{PYTHON} is Python {version}, not 3.11: build on Debian 12 (bookworm), "
            "the release the package is for"
        )
    if shutil.which("dpkg-deb") is None:
        sys.exit("dpkg-deb is missing: build on Debian")


def find_lock() -> Path | None:
    for name in LOCKS:
        path = REPO / name
        if path.is_file() and "--hash=" in path.read_text("utf-8"):
            return path
    return None


def uv_export(work: Path) -> Path | None:
    """uv.lock as hashed requirements (uv's own export; the project itself left out)."""
    if not (REPO / "uv.lock").is_file():
        return None
    uv = shutil.which("uv") or str(REPO / ".venv" / "bin" / "uv")
    if not Path(uv).exists():
        sys.exit("uv.lock found but no uv to export it: pip install uv (or make test first)")
    out = work / "requirements-from-uv.txt"
    run(
        uv,
        "export",
        "--frozen",
        "--no-dev",
        "--no-emit-project",
        "--format",
        "requirements-txt",
        "-o",
        out,
        cwd=REPO,
    )
    return out


def build_wheel(work: Path) -> Path:
    run(PYTHON, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", work / "wheel", REPO)
    (wheel,) = (work / "wheel").glob("kustosz-*.whl")
    return wheel


def make_venv(stage: Path, wheel: Path, lock: Path | None) -> Path:
    venv = stage / VENV.lstrip("/")
    run(PYTHON, "-m", "venv", venv)
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
    # Debian 12's bundled pip (23.0) misses releases the lock names on today's index; the
    # build's pip only installs and is removed from the environment below.
    run(*pip, "install", "--quiet", "--upgrade", "pip")
    if lock is not None:
        # Exactly the locked versions, each checked against its hash; the project's wheel
        # without dependencies (they are all in the lock).
        run(*pip, "install", "--quiet", "--no-compile", "--require-hashes", "--no-deps", "-r", lock)
        run(*pip, "install", "--quiet", "--no-compile", "--no-deps", wheel)
        run(*pip, "check")
    else:
        print(
            "WARNING: no lock file yet: dependencies resolved from pyproject.toml's floors",
            flush=True,
        )
        run(*pip, "install", "--quiet", "--no-compile", wheel)
    # Nobody installs into the packaged environment by hand: the next upgrade would undo it.
    run(*pip, "uninstall", "--quiet", "--yes", "pip")
    return venv


def relocate(stage: Path, venv: Path) -> None:
    """Rewrite the staging path to /opt/kustosz/.venv wherever the venv wrote it."""
    old, new = str(venv).encode(), VENV.encode()
    for path in [*(venv / "bin").iterdir(), venv / "pyvenv.cfg"]:
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if old in data:
            path.write_bytes(data.replace(old, new))
    left = []
    for path in venv.rglob("*"):
        text_like = path.suffix in ("", ".py", ".cfg", ".pth", ".sh")
        if (
            text_like
            and path.is_file()
            and not path.is_symlink()
            and str(stage).encode() in path.read_bytes()
        ):
            left.append(path)
    if left:
        sys.exit(f"the staging path is still written in: {', '.join(map(str, left[:5]))}")
    # Byte-code compiled now, under the path it will run from: the service may not write
    # under /opt (ProtectSystem=strict) and would otherwise compile at every start.
    # Some packages ship files for other Python versions that do not compile: not fatal.
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "-s",
            str(stage),
            str(venv / "lib"),
        ],
        check=False,
        stdout=subprocess.DEVNULL,
    )


def conffile_text(venv: Path, work: Path) -> str:
    """The file `kustosz init` writes, with an empty preset: /etc/kustosz/kustosz.toml."""
    data = work / "init-probe"
    env = {**os.environ, "HOME": str(work)}
    run(
        venv / "bin" / "python",
        "-I",
        "-m",
        "kustosz",
        "--data",
        data,
        "init",
        "--preset",
        "pleszew",
        env=env,
        stdout=subprocess.DEVNULL,
    )
    text = (data / "kustosz.toml").read_text("utf-8")
    text, n = re.subn(
        r'(?m)^preset = "pleszew"$',
        '# Set by `kustosz init --preset NAME` (or here before it).\npreset = ""',
        text,
        count=1,
    )
    if n != 1:
        sys.exit('kustosz init wrote no `preset = "pleszew"` line: update build.py')
    head = (
        "# Kustosz — settings of the vault in /var/lib/kustosz (Debian package).\n"
        "# /var/lib/kustosz/kustosz.toml points here once `kustosz init` has run; a change\n"
        "# takes effect at `systemctl restart kustosz`. Kept across upgrades (a conffile).\n"
    )
    return head + text


def needs_backup() -> list[str]:
    if not NEEDS_BACKUP.is_file():
        return []
    revisions = []
    for line in NEEDS_BACKUP.read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            if not re.fullmatch(r"\d{4}", line):
                sys.exit(f"{NEEDS_BACKUP}: {line!r} is not a revision number like 0035")
            revisions.append(line)
    return revisions


def install(src: Path, dest: Path, mode: int = 0o644) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    dest.chmod(mode)


def lay_out(stage: Path, venv: Path, work: Path) -> None:
    units = stage / "lib/systemd/system"
    for name in ("kustosz.service", "kustosz-sweeper.service", "kustosz-capture.service"):
        install(SYSTEMD / name, units / name)
        install(HERE / "kustosz.service.d-package.conf", units / f"{name}.d/package.conf")
    # An installation of several offices (issue 67): shipped, not enabled (a unit per office)
    install(SYSTEMD / "kustosz-offices.slice", units / "kustosz-offices.slice")
    for name in ("kustosz-installation.service", "kustosz-office@.service"):
        install(SYSTEMD / name, units / name)
        install(HERE / "kustosz-installation.service.d-package.conf",
                units / f"{name}.d/package.conf")
    # root keeps /etc/kustosz/kustosz.toml.last-good (kustosz.config_keep): serve's unit only
    install(HERE / "kustosz.service.d-last-good.conf", units / "kustosz.service.d/last-good.conf")
    install(SYSTEMD / "kustosz.sysusers", stage / "usr/lib/sysusers.d/kustosz.conf")
    install(SYSTEMD / "kustosz.tmpfiles", stage / "usr/lib/tmpfiles.d/kustosz.conf")
    install(HERE / "kustosz-wrapper", stage / "usr/bin/kustosz", 0o755)
    doc = stage / "usr/share/doc/kustosz"
    install(HERE / "copyright", doc / "copyright")
    install(REPO / "docs/install.md", doc / "install.md")
    examples = doc / "examples"
    install(SYSTEMD / "restart-backoff.conf", examples / "restart-backoff.conf")
    install(SYSTEMD / "kustosz.service.d/port-443.conf", examples / "port-443.conf")
    etc = stage / "etc/kustosz/kustosz.toml"
    etc.parent.mkdir(parents=True, exist_ok=True)
    etc.write_text(conffile_text(venv, work), "utf-8")
    etc.chmod(0o640)  # root:kustosz through dpkg-statoverride (postinst): it may hold a URL


def control(stage: Path, version: str) -> None:
    debian = stage / "DEBIAN"
    debian.mkdir()
    size_kib = sum(p.lstat().st_size for p in stage.rglob("*")) // 1024
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (debian / "control").write_text(
        "Package: kustosz\n"
        f"Version: {version}\n"
        f"Architecture: {arch}\n"
        "Maintainer: Kustosz <kustosz@localhost>\n"
        f"Installed-Size: {size_kib}\n"
        f"Depends: {', '.join(DEPENDS)}\n"
        f"Recommends: {', '.join(RECOMMENDS)}\n"
        "Section: admin\n"
        "Priority: optional\n"
        "Description: monitoring-evidence vault of a public office\n"
        " Kustosz keeps what an office's monitoring records (CCTV, phone calls, e-mail and\n"
        " IT events) exactly as long as the office's regulation allows, with holds, copies\n"
        " and a hash-chained audit log. Its own Python environment is in /opt/kustosz.\n"
    )
    (debian / "conffiles").write_text("/etc/kustosz/kustosz.toml\n")
    revisions = " ".join(needs_backup())
    for name in ("preinst", "postinst", "prerm", "postrm"):
        text = (HERE / name).read_text("utf-8").replace("@NEEDS_BACKUP@", revisions)
        (debian / name).write_text(text)
        (debian / name).chmod(0o755)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "dist")
    ap.add_argument("--work", type=Path, default=REPO / "build" / "deb")
    ap.add_argument("--version", help="the package's version (default: the wheel's)")
    args = ap.parse_args()
    check_host()
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(dir=args.work))
    stage = args.work / "root"
    lock = find_lock() or uv_export(work)
    print(f"lock file: {lock or 'none'}", flush=True)
    wheel = build_wheel(work)
    version = args.version or wheel.name.split("-")[1]
    venv = make_venv(stage, wheel, lock)
    relocate(stage, venv)
    lay_out(stage, venv, work)
    control(stage, version)
    args.out.mkdir(parents=True, exist_ok=True)
    deb = args.out / f"kustosz_{version}_{_arch()}.deb"
    # zstd (Debian 12's dpkg reads it): xz takes minutes over the environment, gzip about a
    # minute more than zstd for a larger file.
    run("dpkg-deb", "--root-owner-group", "-Zzstd", "--build", stage, deb)
    digest = hashlib.sha256(deb.read_bytes()).hexdigest()
    print(f"{deb} ({deb.stat().st_size / 2**20:.0f} MiB, sha256 {digest})")
    shutil.rmtree(work)


def _arch() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


if __name__ == "__main__":
    main()
