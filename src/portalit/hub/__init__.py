"""`portalit hub init DIR`: a class on JupyterHub, on this machine.

It writes DIR/jupyterhub_config.py (JupyterHub, the local process spawner, the pure-Python proxy),
creates or checks the learners' and instructors' Unix accounts, lays out the nbgrader exchange, the
instructors' course folder (DIR/course, closed to learners: solutions, gradebook, submissions),
the Jupyter configuration each account's own server reads, and a copy of the lessons every learner
gets. What learners may not read in the course checkout itself (solutions/, tests/, .git, ...) is
closed to other accounts; what their servers run (the environment, src/, data/, widgets/) stays open.
"""
from __future__ import annotations

import grp
import json
import os
import pwd
import re
import secrets
import shutil
import stat
import sys
from pathlib import Path

from ..errors import PortalitError
from . import accounts, config, roster

COURSE_ID = re.compile(r"[a-z][a-z0-9_-]{0,23}")


def init_class(directory, learners: str, instructors: str, port: int = 8080, hub_port: int | None = None,
               proxy_port: int | None = None, course_id: str = "portalit", auth: str = "pam",
               gateway: str | None = None, gateway_url: str | None = None) -> dict:
    here = Path(directory).absolute()
    if not COURSE_ID.fullmatch(course_id or ""):
        raise PortalitError(f"--course {course_id!r}: use 1-24 lowercase letters, digits, '_' or '-', starting with a letter")
    if auth not in config.AUTHENTICATORS:
        raise PortalitError(f"--auth {auth!r}: choose one of {', '.join(config.AUTHENTICATORS)}")
    ports = {"--port": port, "--hub-port": hub_port or port + 1, "--proxy-port": proxy_port or port + 2}
    for flag, value in ports.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise PortalitError(f"{flag} {value!r} must be a port number from 1 to 65535")
    if len(set(ports.values())) < 3:
        raise PortalitError(f"--port, --hub-port and --proxy-port must differ: {sorted(ports.values())}")
    class_learners = roster.people(learners, "learners")
    class_instructors = roster.people(instructors, "instructors")
    both = {p.name for p in class_learners} & {p.name for p in class_instructors}
    if both:
        raise PortalitError(f"listed as learner and instructor: {', '.join(sorted(both))}; an instructor needs "
                            "an account of their own to try the course as a learner")
    gateway_keys = _gateway_keys(gateway, gateway_url, [p.name for p in class_learners])
    checkout, venv = _checkout(), Path(sys.prefix)
    _check_reachable(venv, checkout)
    group = f"{course_id}-instructors"
    learner_names = [p.name for p in class_learners]
    instructor_names = [p.name for p in class_instructors]
    created = accounts.ensure(learner_names, instructor_names, group)

    owner = accounts.ids(instructor_names[0])[0]
    gid = grp.getgrnam(group).gr_gid
    _check_own(here)
    _folder(here, 0o755)
    _folder(here / "state", 0o700)
    _folder(here / "config.d", 0o755)
    if auth == "dummy":
        _secret(here / "state" / "password")
    if gateway_keys is not None:
        _write(here / "state" / "gateway-keys.json", json.dumps(gateway_keys), 0o600)
    _write_layout(here, checkout, course_id)
    exchange = here / "exchange"
    _folder(exchange, 0o1777)  # sticky: learners may create, never rename or remove, others' entries
    course_share = exchange / course_id
    _check_exchange(course_share, gid)
    _folder(course_share, 0o2775, owner, gid)
    kept = _course_folder(here / "course", checkout, course_id, here, owner, gid)
    _import_roster(here / "course", class_learners, owner, gid)
    closed = _close_checkout(checkout, [venv, checkout / "src", checkout / "data", checkout / "widgets"])
    _write(here / "jupyterhub_config.py", config.jupyterhub_config(
        here=here, venv_bin=venv / "bin", port=ports["--port"], hub_port=ports["--hub-port"],
        proxy_port=ports["--proxy-port"], learners=learner_names, instructors=instructor_names, auth=auth,
        gateway_url=gateway_url if gateway_keys is not None else None))
    return {
        "directory": str(here),
        "url": f"http://127.0.0.1:{ports['--port']}/",
        "start": f"jupyterhub -f {here / 'jupyterhub_config.py'}",
        "course": str(here / "course"),
        "course_id": course_id,
        "course_kept": kept,
        "exchange": str(exchange),
        "auth": auth,
        "password_file": str(here / "state" / "password") if auth == "dummy" else None,
        "learners": learner_names,
        "instructors": instructor_names,
        "group": group,
        "accounts_created": created,
        "closed_in_checkout": closed,
        "gateway": gateway_url if gateway_keys is not None else None,
    }


def render(result: dict) -> str:
    lines = [f"class {result['course_id']} in {result['directory']}:",
             f"  {len(result['learners'])} learners, instructors {', '.join(result['instructors'])} (group {result['group']})"]
    if result["accounts_created"]:
        lines.append(f"  accounts created: {', '.join(result['accounts_created'])}")
    lines.append(f"  course folder (instructors only): {result['course']}"
                 + (" (kept as it was)" if result["course_kept"] else ""))
    if result["closed_in_checkout"]:
        lines.append(f"  closed to learners in the checkout: {', '.join(result['closed_in_checkout'])}")
    if result["gateway"]:
        lines.append(f"  each learner's server gets their gateway key, for {result['gateway']}")
    if result["password_file"]:
        lines.append(f"  sign-in: any listed name, with the password in {result['password_file']} (trial use only)")
    lines.append(f"start it (as root): {result['start']}")
    lines.append(f"then open {result['url']}")
    return "\n".join(lines)


def _gateway_keys(gateway, url, learners: list[str]) -> dict | None:
    """Each learner's gateway key, handed to their server in the environment (PORTALIT_API_KEY,
    with PORTALIT_API_BASE), so `portalit.use("server")` reaches the class gateway as them."""
    if gateway is None:
        if url:
            raise PortalitError("--gateway-url needs --gateway DIR (the folder `portalit gateway init` wrote)")
        return None
    from ..backends.server import base_url
    from ..gateway import KEYS_FILE, keys

    if not url:
        raise PortalitError("--gateway needs --gateway-url, where learners reach it, e.g. http://127.0.0.1:8000/v1")
    base_url(url)  # a URL, or one clear error
    try:
        issued = keys.read_all(Path(gateway))
    except (OSError, KeyError) as e:
        raise PortalitError(f"cannot read the gateway's keys in {Path(gateway) / KEYS_FILE}: {e}") from None
    missing = [n for n in learners if n not in issued]
    if missing:
        raise PortalitError(f"the gateway has no key for: {', '.join(missing)}; make the gateway from the same roster")
    return {n: issued[n] for n in learners}


def _checkout() -> Path:
    """The course checkout this portalit runs from: its lessons, solutions and nbgrader config."""
    root = Path(__file__).resolve().parents[3]
    if not all((root / part).exists() for part in ("lessons", "solutions", "nbgrader_config.py")):
        raise PortalitError(f"portalit hub init runs from a course checkout (with lessons/, solutions/ and "
                            f"nbgrader_config.py), installed with `make setup`; {root} is not one")
    return root


def _check_reachable(*paths: Path) -> None:
    """Learners' servers run the course's environment as the learners: every folder above it must
    let other accounts through."""
    for path in paths:
        for folder in [path.resolve(), *path.resolve().parents]:
            if not os.stat(folder).st_mode & stat.S_IXOTH:
                raise PortalitError(
                    f"learner accounts cannot reach {path}: {folder} is closed to other accounts "
                    f"(mode {stat.S_IMODE(os.stat(folder).st_mode):o}); put the course where every account can "
                    "enter (e.g. git clone it into /srv/portalit, then `make setup` there)")
    python = Path(os.path.realpath(sys.executable))
    for folder in python.parents:
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            raise PortalitError(f"learner accounts cannot run {python}: {folder} is closed to other accounts; "
                                "set up the course on a Python every account can run (make setup PYTHON=/usr/bin/python3.11)")


def _folder(path: Path, mode: int, uid: int = 0, gid: int = 0) -> None:
    if path.is_symlink():
        raise PortalitError(f"{path} is a symbolic link; hub init writes only into real folders")
    path.mkdir(parents=True, exist_ok=True)
    if accounts.is_root():
        os.chown(path, uid, gid)
    os.chmod(path, mode)


def _check_own(here: Path) -> None:
    """hub init writes as root: into a folder someone else made or can write to, a planted link
    would turn its writes into anyone's. DIR must be new, or ours and closed to others' writes."""
    for folder in [here, *here.parents]:
        if folder.is_symlink():
            raise PortalitError(f"{folder} is a symbolic link; give hub init a real folder")
    if here.exists():
        info = here.stat()
        if info.st_uid != os.geteuid() or info.st_mode & 0o022:
            raise PortalitError(f"{here} exists and belongs to someone else or others may write to it "
                                f"(owner uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):o}); use a new folder")


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    """Write a file, refusing to follow a link planted where it goes."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)


def _secret(path: Path) -> None:
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(18) + "\n")


def _write_layout(here: Path, checkout: Path, course_id: str) -> None:
    lessons = here / "share" / "lessons"
    _folder(here / "share", 0o755)
    shutil.rmtree(lessons, ignore_errors=True)
    shutil.copytree(checkout / "lessons", lessons, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    _open_to_all(lessons)
    for role in ("learner", "instructor"):
        etc = here / "etc" / role
        _folder(etc, 0o755)
        instructor = role == "instructor"
        _write(etc / "nbgrader_config.py", config.nbgrader_exchange(here=here, course_id=course_id, instructor=instructor))
        _write(etc / "jupyter_server_config.py", config.server_config(here=here, instructor=instructor))
        if not instructor:
            lab, server = config.learner_extensions()
            _folder(etc / "labconfig", 0o755)
            _write(etc / "labconfig" / "page_config.json", lab)
            _folder(etc / "jupyter_server_config.d", 0o755)
            _write(etc / "jupyter_server_config.d" / "portalit-learner.json", server)


def _course_folder(course: Path, checkout: Path, course_id: str, here: Path, uid: int, gid: int) -> bool:
    """DIR/course: the checkout's nbgrader config with the class's part added, and solutions/.
    An existing course folder is the instructors' work (gradebook, submissions): it is kept."""
    for name in ("", "nbgrader_config.py", "gradebook.db"):
        if (course / name).is_symlink():
            raise PortalitError(f"{course / name} is a symbolic link; hub init will not write through it")
    kept = (course / "nbgrader_config.py").exists()
    if not kept:
        course.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(course, 0o700)  # closed while it is filled
        text = (checkout / "nbgrader_config.py").read_text() + config.course_section(here=here, course_id=course_id)
        _write(course / "nbgrader_config.py", text, 0o660)
        shutil.copytree(checkout / "solutions", course / "solutions",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    _share_with_group(course, uid, gid)
    return kept


def _import_roster(course: Path, people: list, uid: int, gid: int) -> None:
    """Every learner into the gradebook, with the names, email and platform id of a roster CSV
    (what `nbgrader db student import` does), so exports list learners who never submitted."""
    from nbgrader.api import Gradebook

    from ..autograder.course import venv_bin_on_path

    venv_bin_on_path()  # nbgrader runs alembic to create a gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for p in people:
            fields = {"first_name": p.first_name or None, "last_name": p.last_name or None,
                      "email": p.email or None, "lms_user_id": p.lms_id or None}
            gb.update_or_create_student(p.name, **{k: v for k, v in fields.items() if v is not None})
    _share_with_group(course, uid, gid)


def _share_with_group(course: Path, uid: int, gid: int) -> None:
    """The course folder belongs to the first instructor and the instructors' group; others get nothing."""
    for folder, dirs, files in os.walk(course):
        for name in [folder] + [os.path.join(folder, f) for f in files]:
            if os.path.islink(name):
                continue
            if accounts.is_root():
                os.chown(name, uid, gid)
            is_dir = os.path.isdir(name)
            os.chmod(name, 0o2770 if is_dir else (0o660 | (os.stat(name).st_mode & 0o110)))


def _check_exchange(course_share: Path, gid: int) -> None:
    """The exchange root lets every account create folders in it: one that made the course's
    folder before hub init did could own its outbound/ and hand learners anything."""
    if not os.path.lexists(course_share):
        return
    staff = {0} | {pwd.getpwnam(n).pw_uid for n in grp.getgrgid(gid).gr_mem}
    for folder, dirs, files in os.walk(course_share):
        for name in [folder] + [os.path.join(folder, n) for n in dirs + files]:
            info = os.lstat(name)
            if info.st_uid not in staff and not _is_submission(course_share, name):
                raise PortalitError(f"{name} in the exchange belongs to uid {info.st_uid}, not to root or an instructor; "
                                    "remove what you did not make there, then run hub init again")


def _is_submission(course_share: Path, path: str) -> bool:
    """Learners' own folders under inbound/ (their submissions) are expected there."""
    parts = Path(path).relative_to(course_share).parts
    return len(parts) >= 2 and parts[0] == "inbound"


def _open_to_all(root: Path) -> None:
    for folder, dirs, files in os.walk(root):
        os.chmod(folder, 0o755)
        for f in files:
            os.chmod(os.path.join(folder, f), 0o644)


def _close_checkout(checkout: Path, needed: list[Path]) -> list[str]:
    """chmod o-rwx every top-level entry of the checkout that learners' servers do not run from:
    solutions/ (answers and hidden tests), tests/ (expected answers), .git (all of it, in history),
    a .env with API keys, an instructor's gradebook or submissions."""
    keep = set()
    for path in needed:
        try:
            keep.add(path.resolve().relative_to(checkout).parts[0])
        except (ValueError, IndexError):
            pass
    closed = []
    for entry in sorted(checkout.iterdir()):
        if entry.name in keep or entry.is_symlink():
            continue
        mode = stat.S_IMODE(entry.lstat().st_mode)
        if mode & 0o007:
            os.chmod(entry, mode & ~0o007)
            closed.append(entry.name)
    return closed
