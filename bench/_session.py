"""The bare session two benchmarks drive: an adult who lost a CNI, through the state machine alone.

``bench_scenario`` times it against the same citizen's scripted session on
the simulators; ``_central_server.template_dossier`` takes its dossier as the
shape of every package the service benchmarks send. No screen, no device,
no queue: every event goes to :class:`kiosk.core.session.Session`.

Bench code only, like the rest of this folder.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

NUMBER = "B2C3D4E5F6"  # the simulated directory's adult who lost a CNI


def session_inputs():
    """What the devices would have given: the pré-demande, and a photo's quality report that passes."""
    import numpy as np

    from kiosk.core.quality import assess
    from kiosk.sync.directory import SimDirectory

    pd = SimDirectory(Path("/nonexistent")).fetch(NUMBER)
    good = assess(np.tile((np.indices((480, 640)).sum(0) % 16 * 16).astype(np.uint8)[..., None], (1, 1, 3)))
    return pd, good


def consented_session(pd, good, wall_clock: Callable[[], datetime]):
    """A session from the welcome screen to the summary, consent given: ``submit()`` is next. Four
    document photos, the stamp's number, two fingerprints with their templates, a signature."""
    from kiosk.core.readings import FingerReading
    from kiosk.core.session import Session, SessionSettings

    s = Session(SessionSettings(), time.monotonic, wall_clock)
    s.start()
    s.lookup_finished(pd) if s.qr_decoded(pd.number) else None
    s.confirm()
    s.answer("secure_document", "none")
    s.next_question()
    s.answer("birthplace_dematerialised", False)
    s.next_question()
    s.begin_capture()
    while s.step.value == "capture":
        s.document_captured(b"jpeg", good)
        s.document_kept()
    while s.step.value == "stamp":
        s.stamp_entered("1234567890123456")
    while s.step.value == "fingerprints":
        s.finger_read(FingerReading(ok=True, image=b"png", quality=80, template=b"tpl"))
    s.signature_done(b"png", 2)
    s.set_consent(True)
    return s
