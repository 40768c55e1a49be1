"""The polkit rule behind the maintenance screen's restart buttons, run in a JavaScript engine.

polkitd evaluates ``systemd/polkit/50-kiosk-technician.rules`` with its own
engine; node runs the same file here against a stand-in ``polkit`` object
with the fields systemd's ``manage-units`` action carries.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

RULE = Path(__file__).resolve().parents[1] / "systemd" / "polkit" / "50-kiosk-technician.rules"

pytestmark = pytest.mark.skipif(not shutil.which("node"), reason="node is not installed (scripts/setup --test)")

HARNESS = """
const fs = require("fs");
const rules = [];
const polkit = {Result: {YES: "yes", NO: "no", NOT_HANDLED: "not_handled"}, addRule: (f) => rules.push(f)};
eval(fs.readFileSync(process.argv[1], "utf8"));
const cases = JSON.parse(process.argv[2]);
console.log(JSON.stringify(cases.map(([id, user, unit, verb]) => {
  const action = {id: id, lookup: (k) => ({unit: unit, verb: verb})[k]};
  return rules.map((r) => r(action, {user: user})).find((v) => v !== "not_handled") || "not_handled";
})));
"""


def verdicts(cases):
    out = subprocess.run(["node", "-e", HARNESS, str(RULE), json.dumps(cases)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def test_the_kiosk_user_may_restart_its_two_services_and_nothing_else():
    manage = "org.freedesktop.systemd1.manage-units"
    assert verdicts([
        [manage, "kiosk", "kiosk-sync.service", "restart"],
        [manage, "kiosk", "kiosk-ui.service", "restart"],
        [manage, "kiosk", "kiosk-sync.service", "stop"],
        [manage, "kiosk", "ssh.service", "start"],
        [manage, "kiosk", "ssh.service", "restart"],
        [manage, "nobody", "kiosk-sync.service", "restart"],
        ["org.freedesktop.login1.reboot", "kiosk", "", ""],
    ]) == ["yes", "yes", "not_handled", "not_handled", "not_handled", "not_handled", "not_handled"]
