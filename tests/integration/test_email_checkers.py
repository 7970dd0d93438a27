"""Outside judges of the emails: SpamAssassin scores them, html-validate checks the HTML.

Both are real programs (Debian's ``spamassassin``; ``html-validate`` from npm,
pinned in tests/tools/html-validate/package-lock.json); ``.ci/run`` installs them.
Each judge is also shown a message it must reject, so a judge that silently
stopped judging fails the test instead of passing it.
"""

from __future__ import annotations

import mailbox
import re
import shutil
import subprocess
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from digest.models import RunStatus
from tests.conftest import require_real_part
from tests.support.emails import (
    BROAD_QUERIES,
    DAY,
    FOCUSED_QUERIES,
    composer,
    picks_for,
    subscriber,
)

SPAM_LIMIT = 1.0
# The standard test string every SpamAssassin install scores as spam (GTUBE).
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
HTML_VALIDATE_DIR = Path(__file__).resolve().parents[1] / "tools" / "html-validate"

EMAILS: dict[str, Callable[[], EmailMessage]] = {
    "digest": lambda: composer().digest_for(subscriber(BROAD_QUERIES), picks_for(BROAD_QUERIES)),
    "digest-thumbnails": lambda: composer(thumbnails=True).digest_for(
        subscriber(FOCUSED_QUERIES), picks_for(FOCUSED_QUERIES)
    ),
    "confirm": lambda: composer().confirmation(subscriber(FOCUSED_QUERIES), 7),
    "welcome": lambda: composer().welcome(subscriber(FOCUSED_QUERIES)),
    "goodbye": lambda: composer(postal_address=None).goodbye(subscriber(FOCUSED_QUERIES)),
    "alert": lambda: composer().alert(DAY, RunStatus.FAILED, "HTTP 503 <from> the listing"),
}


def _spam_control() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "someone@example.org"
    message["To"] = "ada@example.org"
    message["Subject"] = "control"
    message["Message-ID"] = "<spam-control@example.org>"
    message.set_content(f"This message must be scored as spam.\n\n{GTUBE}\n")
    return message


def test_spamassassin_scores_every_email_below_one(tmp_path: Path) -> None:
    program = shutil.which("spamassassin")
    require_real_part(
        None if program else "SpamAssassin is not installed (apt-get install spamassassin)"
    )
    assert program is not None
    messages = {
        name: EMAILS[name]() for name in ("digest", "confirm", "welcome", "goodbye", "alert")
    }
    messages["control"] = _spam_control()
    names = {str(message["Message-ID"]): name for name, message in messages.items()}
    box = mailbox.mbox(tmp_path / "in.mbox")
    for message in messages.values():
        box.add(message.as_bytes())
    box.close()
    prefs = tmp_path / "user_prefs"
    prefs.write_text("")

    with (tmp_path / "in.mbox").open("rb") as stdin:
        result = subprocess.run(
            # -L: local tests only (no DNS, no network); no Bayes, so the score does not
            # depend on what this machine learnt before.
            [program, "-L", "--mbox", "-p", str(prefs), "--cf=use_bayes 0"],
            stdin=stdin,
            capture_output=True,
            timeout=120,
            check=False,
            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        )

    assert result.returncode == 0, result.stderr.decode()
    (tmp_path / "out.mbox").write_bytes(result.stdout)
    out = mailbox.mbox(tmp_path / "out.mbox")
    scored = [message_from_bytes(m.as_bytes(), policy=default) for m in out]
    out.close()
    scores: dict[str, float] = {}
    rules: dict[str, str] = {}
    for message in scored:
        name = names[str(message["Message-ID"])]
        status = "".join(str(message["X-Spam-Status"]).split())  # unfolded, no spaces
        found = re.search(r"score=(-?\d+(?:\.\d+)?)required=.*tests=([\w,]*?)(autolearn|$)", status)
        assert found, status
        scores[name] = float(found.group(1))
        rules[name] = found.group(2) or "no rules"
    for name in sorted(scores):
        print(f"SpamAssassin {name}: {scores[name]:.1f} ({rules[name]})")
    assert set(scores) == set(messages)
    assert scores.pop("control") >= 1000  # GTUBE: the scorer really scored
    assert {name: score for name, score in scores.items() if score >= SPAM_LIMIT} == {}


def _html_validate() -> Path:
    tool = HTML_VALIDATE_DIR / "node_modules" / ".bin" / "html-validate"
    missing = None
    if not shutil.which("node"):
        missing = "node is not installed (apt-get install nodejs npm)"
    elif not tool.exists():
        missing = f"html-validate is not installed (npm ci --prefix {HTML_VALIDATE_DIR})"
    require_real_part(missing)
    return tool


def _validate(files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(_html_validate()),
            "--config",
            str(HTML_VALIDATE_DIR / "htmlvalidate.json"),
            *map(str, files),
        ],
        cwd=HTML_VALIDATE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def test_the_html_of_every_email_passes_html_validate(tmp_path: Path) -> None:
    files = []
    for name, build in EMAILS.items():
        path = tmp_path / f"{name}.html"
        path.write_text(_html(build()))
        files.append(path)

    result = _validate(files)

    assert result.returncode == 0, result.stdout + result.stderr


def test_html_validate_rejects_what_breaks_in_email(tmp_path: Path) -> None:
    """The email rules are on: scripts, forms, images without alt text, old markup."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html lang="en"><head><title>x</title></head><body>'
        '<script>alert(1)</script><form action="/x"></form><img src="a.png">'
        '<table bgcolor="#fff"><tbody><tr><td><font>x</font></td></tr></tbody></table>'
        "</body></html>"
    )

    result = _validate([bad])

    assert result.returncode != 0
    for rule in ("deprecated", "wcag/h37", "no-deprecated-attr"):
        assert rule in result.stdout, result.stdout
    assert "<script> is deprecated" in result.stdout
    assert "<form> is deprecated" in result.stdout
