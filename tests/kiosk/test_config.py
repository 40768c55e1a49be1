"""The configuration: built-in defaults, then one TOML file, then the environment (passed in, never os.environ)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import KioskConfig, load_config, simulated
from titres.errors import ConfigError
from kiosk.core.session import SessionSettings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- defaults ---------------------------------------------------------------------------
def test_defaults_without_file_or_environment():
    cfg = load_config(env={})
    assert cfg == KioskConfig()
    assert cfg.data_dir == Path("var/kiosk")
    assert cfg.predemande.number_pattern == "[A-Z0-9]{10}"
    assert cfg.session.inactivity_warning_s == 60.0 and cfg.session.inactivity_abandon_s == 30.0
    assert cfg.session.fingerprint_min_age == 12 and cfg.session.finger_attempts == 3
    assert cfg.session.default_language == "fr" and cfg.session.languages == ("fr", "en")
    assert cfg.site.region == "metropole" and cfg.site.proof_of_address_max_months == 12
    assert cfg.directory.sim_offline is False
    assert all(cfg.hal.backend_for(d) == "sim" for d in ("camera", "scanner", "fingerprint", "printer", "indicator"))


def test_an_unknown_device_has_no_backend():
    with pytest.raises(ConfigError):
        KioskConfig().hal.backend_for("toaster")


def test_session_settings_follow_the_configuration():
    cfg = load_config(env={"KIOSK_LANG": "en"})
    s = SessionSettings.from_config(cfg)
    assert s.default_language == "en"
    assert s.number_format.min_len == 10
    assert s.fingers == ("left_index", "right_index")


# -- the file ----------------------------------------------------------------------------
def test_toml_file_sets_values_in_every_section(tmp_path):
    path = write(tmp_path, """
data_dir = "/srv/kiosk"
log_level = "DEBUG"

[site]
name = "Mairie de Saissac"
kiosk_code = "S02"
region = "guyane"
proof_of_address_max_months = 3

[session]
inactivity_warning_s = 45
fingers = ["left_thumb", "right_thumb"]

[predemande]
number_pattern = "[0-9]{8,12}"

[hal]
default = "pi"
camera_still_size = [4056, 3040]

[hal.backends]
printer = "sim"
""")
    cfg = load_config(path, env={})
    assert cfg.data_dir == Path("/srv/kiosk")
    assert cfg.log_level == "DEBUG"
    assert cfg.site.name == "Mairie de Saissac" and cfg.site.kiosk_code == "S02"
    assert cfg.site.region == "guyane" and cfg.site.proof_of_address_max_months == 3
    assert cfg.session.inactivity_warning_s == 45.0 and isinstance(cfg.session.inactivity_warning_s, float)
    assert cfg.session.inactivity_abandon_s == 30.0  # untouched: default
    assert cfg.session.fingers == ("left_thumb", "right_thumb")
    assert cfg.predemande.number_pattern == "[0-9]{8,12}"
    assert cfg.hal.camera_still_size == (4056, 3040)
    assert cfg.hal.backend_for("printer") == "sim"
    assert cfg.hal.backend_for("camera") == "pi"


def test_the_file_can_be_named_by_kiosk_config(tmp_path):
    path = write(tmp_path, '[site]\nkiosk_code = "Z9"\n')
    assert load_config(env={"KIOSK_CONFIG": str(path)}).site.kiosk_code == "Z9"


def test_the_shipped_example_configuration_loads():
    example = Path(__file__).resolve().parents[2] / "examples" / "kiosk.toml"
    if not example.exists():
        pytest.skip("no example configuration")
    assert isinstance(load_config(example, env={}), KioskConfig)


@pytest.mark.parametrize("text", [
    "colour = 'blue'\n",  # unknown top-level key
    "[site]\nkiosk_name = 'K01'\n",  # unknown key in a section
    "[sitee]\nname = 'x'\n",  # unknown section
    "[session]\ninactivity_warning = 60\n",
])
def test_an_unknown_key_is_refused(tmp_path, text):
    with pytest.raises(ConfigError, match="unknown setting"):
        load_config(write(tmp_path, text), env={})


@pytest.mark.parametrize("text", [
    "site = 'Saissac'\n",  # a value where a table is expected
    "[session]\ninactivity_warning_s = '60'\n",  # a string for a number
    "[session]\nfinger_attempts = 2.5\n",  # a float for an int
    "[session]\nfinger_attempts = true\n",  # a bool for an int
    "[directory]\nsim_offline = 1\n",  # an int for a bool
    "[site]\nkiosk_code = 1\n",
    "data_dir = 3\n",
])
def test_a_value_of_the_wrong_type_is_refused(tmp_path, text):
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, text), env={})


@pytest.mark.parametrize("pattern", ["[A-Z0-9]+", "[A-Z0-9]{0}", "\\\\d{10}", "[Z-A]{10}"])
def test_a_bad_number_pattern_is_refused(tmp_path, pattern):
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, f"[predemande]\nnumber_pattern = '{pattern}'\n"), env={})


@pytest.mark.parametrize("text", [
    "[site]\nregion = 'mars'\n",
    "[session]\ndefault_language = 'de'\n",
    "[session]\nfinger_attempts = 0\n",
])
def test_inconsistent_values_are_refused(tmp_path, text):
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, text), env={})


def test_an_unreadable_or_broken_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        load_config(tmp_path / "missing.toml", env={})
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, "[site\n"), env={})


# -- the environment -----------------------------------------------------------------------
def test_kiosk_data_overrides_the_data_dir(tmp_path):
    path = write(tmp_path, 'data_dir = "/srv/kiosk"\n')
    cfg = load_config(path, env={"KIOSK_DATA": str(tmp_path / "data")})
    assert cfg.data_dir == tmp_path / "data"
    assert cfg.sim_dir == tmp_path / "data" / "sim"


def test_kiosk_hal_sets_the_default_backend_and_per_device_wins(tmp_path):
    path = write(tmp_path, '[hal]\ndefault = "sim"\n[hal.backends]\ncamera = "opencv"\n')
    cfg = load_config(path, env={"KIOSK_HAL": "pi", "KIOSK_HAL_PRINTER": "file"})
    assert cfg.hal.backend_for("printer") == "file"
    assert cfg.hal.backend_for("camera") == "opencv"  # the file's per-device choice beats the default
    assert cfg.hal.backend_for("scanner") == "pi"


def test_an_empty_per_device_variable_changes_nothing():
    cfg = load_config(env={"KIOSK_HAL_PRINTER": ""})
    assert cfg.hal.backend_for("printer") == "sim"


def test_kiosk_lang_sets_the_default_language():
    assert load_config(env={"KIOSK_LANG": "en"}).session.default_language == "en"
    with pytest.raises(ConfigError):
        load_config(env={"KIOSK_LANG": "de"})


@pytest.mark.parametrize("value, offline", [
    ("1", True), ("yes", True), ("true", True), ("0", False), ("", False), ("false", False), ("no", False),
    ("off", False), ("False", False),
])
def test_kiosk_sim_offline(value, offline):
    assert load_config(env={"KIOSK_SIM_OFFLINE": value}).directory.sim_offline is offline


def test_directory_variables():
    cfg = load_config(env={"KIOSK_DIRECTORY": "http", "KIOSK_CENTRAL_URL": "https://central.example"})
    assert cfg.directory.backend == "http"
    assert cfg.directory.central_url == "https://central.example"


def test_environment_wins_over_the_file(tmp_path):
    path = write(tmp_path, '[session]\ndefault_language = "fr"\n[directory]\nsim_offline = false\n')
    cfg = load_config(path, env={"KIOSK_LANG": "en", "KIOSK_SIM_OFFLINE": "1"})
    assert cfg.session.default_language == "en"
    assert cfg.directory.sim_offline is True


def test_simulated_puts_every_device_and_the_directory_on_simulators():
    cfg = load_config(env={"KIOSK_HAL": "pi", "KIOSK_HAL_CAMERA": "opencv", "KIOSK_DIRECTORY": "http"})
    sim = simulated(cfg)
    assert all(sim.hal.backend_for(d) == "sim" for d in ("camera", "scanner", "fingerprint", "printer", "indicator"))
    assert sim.directory.backend == "sim"
    assert cfg.hal.backend_for("camera") == "opencv"  # the original is frozen, untouched


@pytest.mark.parametrize("text, zone", [
    ("", "Europe/Paris"),
    ('[site]\nregion = "guyane"\n', "America/Cayenne"),  # the region's zone when none is named
    ('[site]\nregion = "guyane"\ntimezone = "America/Cayenne"\n', "America/Cayenne"),
    ('[site]\ntimezone = "Indian/Reunion"\n', "Indian/Reunion"),
    ('[site]\nregion = "abroad"\ntimezone = "America/Montreal"\n', "America/Montreal"),
])
def test_the_mairies_time_zone_counts_the_age_and_prints_the_time(tmp_path, text, zone):
    path = tmp_path / "k.toml"
    path.write_text(text)
    settings = SessionSettings.from_config(load_config(path, env={}))
    assert str(settings.zone) == zone


@pytest.mark.parametrize("text", ['[site]\ntimezone = "Mars/Olympus"\n', '[site]\nregion = "abroad"\n'])
def test_a_time_zone_unknown_or_missing_for_a_consulate_stops_the_kiosk(tmp_path, text):
    path = tmp_path / "k.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="time zone|timezone"):
        load_config(path, env={})


def test_a_mairie_lists_the_recap_formats_its_qr_codes_carry(tmp_path):
    path = write(tmp_path, '[predemande]\nrecap_formats = [\'https://recap\\.mairie\\.example/\\?n={number}\']\n')
    settings = SessionSettings.from_config(load_config(path, env={}))
    assert settings.number_format.number_from_qr("https://recap.mairie.example/?n=AB12CD34EF") == "AB12CD34EF"


@pytest.mark.parametrize("formats", ["['https://ants\\.gouv\\.fr/']", "['(unclosed{number}']"])
def test_a_recap_format_without_its_number_or_that_is_no_expression_stops_the_kiosk(tmp_path, formats):
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, f"[predemande]\nrecap_formats = {formats}\n"), env={})
