"""The dossier's one serialised form: canonical, versioned, attachments checked by hash, wiped in memory."""

from __future__ import annotations

import hashlib
import json

import pytest

from titres.dossier import (
    SCHEMA_VERSION, DocumentCapture, DocumentStatus, Dossier, FingerCapture, FingerStatus, Flag, Stamp, StampMode,
)


def make_dossier() -> Dossier:
    d = Dossier(
        id="0195a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b", site_id="mairie-11069", kiosk_code="K01",
        created_at="2025-03-10T09:30:00+00:00", language="fr", predemande_number="AB12CD34EF",
        predemande_fetched=True, predemande={"number": "AB12CD34EF", "person": {"surname": "DUPONT", "given_names": "Jérôme"}},
        case={"motif": "loss", "titles": ["cni"]}, checklist=["photo", "proof_of_address", "fiscal_stamp.cni"],
        signer="applicant", software_version="0.1.0",
    )
    photo = d.attach("documents/photo", "image/jpeg", b"\xff\xd8 photo bytes")
    d.documents.append(DocumentCapture("photo", DocumentStatus.CAPTURED, photo, {"sharpness": 812.5}, 2))
    d.documents.append(DocumentCapture("proof_of_address", DocumentStatus.ORIGINAL_AT_DESK, None, {}, 0))
    d.stamps.append(Stamp("fiscal_stamp.cni", StampMode.DEMATERIALISED, "1234567890123456", 2500))
    image = d.attach("fingerprints/left_index.png", "image/png", b"\x89PNG left")
    tpl = d.attach("fingerprints/left_index.tpl", "application/octet-stream", b"TPL")
    d.fingerprints.append(FingerCapture("left_index", FingerStatus.CAPTURED, 1, 74, image, tpl))
    d.fingerprints.append(FingerCapture("right_index", FingerStatus.UNAVAILABLE, 0))
    d.signature = d.attach("signature.png", "image/png", b"\x89PNG signature")
    d.consent_at = "2025-03-10T09:41:00+00:00"
    d.flag(Flag.FINGER_UNAVAILABLE)
    d.flag(Flag.ORIGINALS_ONLY)
    return d


def blobs(d: Dossier) -> dict[str, bytes]:
    return {name: bytes(a.data) for name, a in d.attachments.items()}


def test_to_json_is_canonical_sorted_compact_utf8():
    raw = make_dossier().to_json()
    parsed = json.loads(raw)
    assert raw == json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert "Jérôme".encode("utf-8") in raw  # not \\u escapes
    assert b": " not in raw and b", " not in raw
    assert parsed["schema"] == SCHEMA_VERSION


def test_to_json_is_stable_whatever_the_order_things_were_added():
    a = make_dossier()
    b = make_dossier()
    b.flags.reverse()
    b.flag(Flag.ORIGINALS_ONLY)  # repeated: no duplicate
    b.attachments = dict(reversed(list(b.attachments.items())))
    assert a.to_json() == b.to_json()
    assert hashlib.sha256(a.to_json()).hexdigest() == hashlib.sha256(b.to_json()).hexdigest()


def test_attachments_are_described_by_name_type_hash_and_size_not_content():
    d = make_dossier()
    parsed = json.loads(d.to_json())
    names = [a["name"] for a in parsed["attachments"]]
    assert names == sorted(names)
    sig = next(a for a in parsed["attachments"] if a["name"] == "signature.png")
    assert sig == {"name": "signature.png", "media_type": "image/png",
                   "sha256": hashlib.sha256(b"\x89PNG signature").hexdigest(), "size": len(b"\x89PNG signature")}
    assert b"PNG signature" not in d.to_json()


def test_from_json_round_trips_with_attachments():
    d = make_dossier()
    back = Dossier.from_json(d.to_json(), blobs(d))
    assert back.to_json() == d.to_json()
    assert back == d
    assert bytes(back.attachments["signature.png"].data) == b"\x89PNG signature"
    assert back.fingerprints[1].status is FingerStatus.UNAVAILABLE
    assert back.documents[1].status is DocumentStatus.ORIGINAL_AT_DESK


def test_from_json_accepts_text_as_well_as_bytes():
    d = make_dossier()
    assert Dossier.from_json(d.to_json().decode("utf-8"), blobs(d)).to_json() == d.to_json()


def test_a_tampered_attachment_is_refused():
    d = make_dossier()
    sent = blobs(d)
    sent["signature.png"] = b"\x89PNG someone else"
    with pytest.raises(ValueError, match="signature.png"):
        Dossier.from_json(d.to_json(), sent)


def test_a_missing_attachment_is_refused_when_attachments_are_checked():
    d = make_dossier()
    sent = blobs(d)
    del sent["fingerprints/left_index.tpl"]
    with pytest.raises(ValueError, match="left_index.tpl"):
        Dossier.from_json(d.to_json(), sent)


def test_without_attachments_the_metadata_still_reads():
    back = Dossier.from_json(make_dossier().to_json())
    assert back.predemande_number == "AB12CD34EF"
    assert set(back.attachments) == set(make_dossier().attachments)
    assert all(len(a.data) == 0 for a in back.attachments.values())


@pytest.mark.parametrize("schema", [None, 0, SCHEMA_VERSION + 1, "1"])
def test_an_unknown_schema_version_is_refused(schema):
    raw = json.loads(make_dossier().to_json())
    if schema is None:
        del raw["schema"]
    else:
        raw["schema"] = schema
    with pytest.raises(ValueError, match="schema"):
        Dossier.from_json(json.dumps(raw))


def test_attach_copies_the_bytes_and_replacing_wipes_the_old_copy():
    d = make_dossier()
    old = d.attachments["signature.png"].data
    d.attach("signature.png", "image/png", b"new")
    assert len(old) == 0
    assert bytes(d.attachments["signature.png"].data) == b"new"


def test_drop_attachment_wipes_it_and_ignores_none():
    d = make_dossier()
    held = d.attachments["documents/photo"].data
    d.drop_attachment("documents/photo")
    d.drop_attachment(None)
    d.drop_attachment("no/such")
    assert "documents/photo" not in d.attachments
    assert len(held) == 0


def test_attachment_wipe_zeroes_before_releasing():
    d = make_dossier()
    att = d.attachments["signature.png"]
    seen = []

    class Spy(bytearray):
        def clear(self):
            seen.append(bytes(self))
            super().clear()

    att.data = Spy(att.data)
    att.wipe()
    assert seen == [bytes(len(b"\x89PNG signature"))]  # overwritten with zeros, then emptied
    assert len(att.data) == 0


def test_wipe_zeroes_every_capture_and_forgets_personal_fields():
    d = make_dossier()
    held = [a.data for a in d.attachments.values()]
    assert all(len(h) > 0 for h in held)
    d.wipe()
    assert all(len(h) == 0 for h in held)
    assert d.attachments == {}
    assert d.predemande is None
    assert d.documents == [] and d.stamps == [] and d.fingerprints == []
    assert d.signature is None


def test_flags_are_kept_once_each():
    d = make_dossier()
    d.flag(Flag.FINGER_UNAVAILABLE)
    assert d.flags.count("finger_unavailable") == 1
    assert json.loads(d.to_json())["flags"] == ["finger_unavailable", "originals_only"]
